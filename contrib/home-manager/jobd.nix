# home-manager module for jobd.
#
#   imports = [ jobd.homeManagerModules.default ];   # from the flake
#   services.jobd = {
#     enable = true;
#     settings.jobs.nix-index = {
#       exec = "nix-index";
#       on_calendar = "*-*-* 04:00:00";
#       persistent = true;
#     };
#   };
#
# `settings` mirrors jobd's YAML (SPEC.md §2) key for key; it is written to
# ~/.config/jobd/jobd.yaml as JSON (JSON is YAML), and jobd is reloaded
# when the file changes. The user unit matches contrib/systemd/jobd.service.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.jobd;
  toConfig = import ./settings.nix;
in
{
  options.services.jobd = {
    enable = lib.mkEnableOption "jobd, the per-user job scheduler and supervisor";

    package = lib.mkOption {
      type = lib.types.package;
      description = "The jobd package (the flake's module sets its own).";
    };

    settings = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      default = { };
      description = ''
        jobd's configuration, as in jobd.yaml: `log_namespace`,
        `log_file_max`, `log_file_keep` and `jobs.<name>` with the keys of
        SPEC.md §2 (`exec`, `on_calendar`, `cron`, `restart`, …).
      '';
      example = lib.literalExpression (builtins.readFile ./example-settings.nix);
    };
  };

  config = lib.mkIf cfg.enable {
    home.packages = [ cfg.package ];

    xdg.configFile."jobd/jobd.yaml" = {
      text = toConfig cfg.settings;
      # Reload a running jobd (it keeps the old config if the new one is
      # refused, and says why in the journal).
      onChange = ''
        ${pkgs.systemd}/bin/systemctl --user reload jobd.service || true
      '';
    };

    systemd.user.services.jobd = {
      Unit = {
        Description = "jobd: scheduled and supervised user jobs";
        X-Restart-Triggers = [ "${cfg.package}" ];
      };
      Service = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${cfg.package}/bin/jobd daemon";
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        Restart = "on-failure";
        RestartSec = "1s";
        Delegate = "yes";
        KillMode = "mixed";
        TimeoutStopSec = "2min";
        LogRateLimitIntervalSec = "30s";
        LogRateLimitBurst = 10000000;
      };
      Install.WantedBy = [ "default.target" ];
    };
  };
}
