# Evaluates jobd's home-manager or NixOS module with the real Nixpkgs
# module system (./nixpkgs-lib) and stubs of only what the module reads:
# the option declarations of home-manager (or NixOS) it sets, and the
# pkgs functions it calls, which return inspectable fake derivations.
{ kind ? "home-manager", config ? { } }:

let
  lib = import ./nixpkgs-lib/lib;
  anyAttrs = lib.mkOption { type = lib.types.attrsOf lib.types.anything; default = { }; };
  anyList = lib.mkOption { type = lib.types.listOf lib.types.anything; default = [ ]; };
  stubs = {
    home-manager = {
      options.home.packages = anyList;
      options.xdg.configFile = anyAttrs;
      options.systemd.user.services = anyAttrs;
    };
    nixos = {
      options.environment.systemPackages = anyList;
      options.systemd.user.services = anyAttrs;
    };
  }.${kind};
  drv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  pkgs = {
    writeText = name: text: drv "text-${name}" // { inherit text; };
    runCommand = name: env: buildCommand: drv "checked-${name}" // { inherit env buildCommand; };
    systemd = drv "systemd";
    coreutils = drv "coreutils";
    tzdata = drv "tzdata";
  };
  module = {
    home-manager = ../../contrib/home-manager/jobd.nix;
    nixos = ../../contrib/nixos/jobd.nix;
  }.${kind};
  eval = lib.evalModules {
    modules = [
      stubs
      module
      { _module.args.pkgs = pkgs; }
      { services.jobd = { enable = true; package = drv "jobd"; } // config; }
    ];
  };
in
removeAttrs eval.config [ "_module" ]
