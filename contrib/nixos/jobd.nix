# NixOS module for jobd, for machines without home-manager: installs jobd
# and its user unit for every user. Each user's jobs are in their own
# ~/.config/jobd/jobd.yaml (`jobd edit` writes it); a user without one has
# nothing started.
#
#   imports = [ jobd.nixosModules.default ];   # from the flake
#   services.jobd.enable = true;
{ config, lib, pkgs, ... }:

let
  cfg = config.services.jobd;
  jobd = "${cfg.package}/bin/jobd";
in
{
  options.services.jobd = {
    enable = lib.mkEnableOption "jobd, the per-user job scheduler and supervisor, for every user";

    package = lib.mkOption {
      type = lib.types.package;
      description = "The jobd package (the flake's module sets its own).";
    };
  };

  config = lib.mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];

    systemd.user.services.jobd = {
      description = "jobd: scheduled and supervised user jobs";
      documentation = [ "man:jobd(1)" ];
      wantedBy = [ "default.target" ];
      unitConfig.ConditionPathExists = "%h/.config/jobd/jobd.yaml";
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${jobd} daemon";
        ExecReload = "${jobd} reload";
        Restart = "on-failure";
        RestartSec = "1s";
        Delegate = true;
        KillMode = "mixed";
        TimeoutStopSec = "2min";
      };
    };
  };
}
