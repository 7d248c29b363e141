# home-manager module for jobd.
#
#   imports = [ jobd.homeManagerModules.default ];   # from the flake
#   services.jobd = {
#     enable = true;
#     jobs.nix-index = {
#       exec = "nix-index";
#       on_calendar = "*-*-* 04:00:00";
#       persistent = true;
#     };
#   };
#
# Every key of jobd.yaml is an option, typed and described from jobd's JSON
# Schema (options.nix): `services.jobd.jobs.<name>.<key>`, the top-level
# keys as `services.jobd.<key>`, and `services.jobd.settings` as a freeform
# escape hatch merged under them. The file is checked by `jobd check` when
# the configuration is built, so a mistake fails `home-manager switch`
# with jobd's FILE:LINE:COL message; a running jobd reloads it.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.jobd;
  keys = import ./options.nix { inherit lib; };
  toText = import ./settings.nix;

  typed = keys.clean (
    (lib.filterAttrs (n: _: keys.top ? ${n}) cfg)
    // {
      jobs = if cfg.jobs == { } then null else cfg.jobs;
      defaults = if cfg.defaults == null then null else cfg.defaults;
    }
  );
  settings = lib.recursiveUpdate cfg.settings typed;
  text = toText settings;
  unchecked = pkgs.writeText "jobd.yaml" text;
  jobd = "${cfg.package}/bin/jobd";
  # Fails the build with jobd's own message when the file is refused.
  checked = pkgs.runCommand "jobd.yaml" {
    config = unchecked;
    # Zone names in schedules are checked against real time-zone data.
    TZDIR = "${pkgs.tzdata}/share/zoneinfo";
  } ''
    ${jobd} check --config "$config"
    cp "$config" "$out"
  '';
in
{
  options.services.jobd = keys.top // {
    enable = lib.mkEnableOption "jobd, the per-user job scheduler and supervisor";

    package = lib.mkOption {
      type = lib.types.package;
      description = "The jobd package (the flake's module sets its own).";
    };

    jobs = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule { options = keys.job; });
      default = { };
      description = "The jobs, by name: each key of a job in jobd.yaml is an option.";
      example = lib.literalExpression (builtins.readFile ./example-jobs.nix);
    };

    defaults = lib.mkOption {
      type = lib.types.nullOr (lib.types.submodule { options = keys.job; });
      default = null;
      description = "Per-job keys every job inherits unless it sets them (`environment` maps are merged).";
    };

    settings = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      default = { };
      description = ''
        jobd.yaml as a free-form attribute set, for what the typed options
        do not say; the typed options are merged over it.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    home.packages = [ cfg.package ];

    xdg.configFile."jobd/jobd.yaml" = {
      source = checked;
      # The file was checked at build time; a running jobd takes it now.
      onChange = ''
        if ${pkgs.systemd}/bin/systemctl --user is-active --quiet jobd.service; then
          ${jobd} reload
        fi
      '';
    };

    systemd.user.services.jobd = {
      Unit = {
        Description = "jobd: scheduled and supervised user jobs";
        Documentation = "man:jobd(1)";
        X-Restart-Triggers = [ "${cfg.package}" ];
      };
      Service = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${jobd} daemon";
        ExecReload = "${jobd} reload";
        Restart = "on-failure";
        RestartSec = "1s";
        Delegate = "yes";
        KillMode = "mixed";
        TimeoutStopSec = "2min";
      };
      Install.WantedBy = [ "default.target" ];
    };
  };
}
