{
  description = "jobd: systemd OnCalendar and cron schedules, restart policies and journal logging for your own jobs, from one YAML file";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: {
        default = pkgs.rustPlatform.buildRustPackage {
          pname = "jobd";
          version = "0.1.0";
          src = ./.;
          cargoLock.lockFile = ./Cargo.lock;
          nativeBuildInputs = [ pkgs.installShellFiles ];
          # The integration tests start daemons, journald and cgroups as
          # root; the sandbox has none of that. `cargo test` / .ci/run.
          doCheck = false;
          postInstall = ''
            installShellCompletion --cmd jobd \
              --bash <($out/bin/jobd completions bash) \
              --zsh <($out/bin/jobd completions zsh) \
              --fish <($out/bin/jobd completions fish)
            $out/bin/jobd man > jobd.1
            installManPage jobd.1
            install -Dm644 contrib/systemd/jobd.service $out/share/systemd/user/jobd.service
            substituteInPlace $out/share/systemd/user/jobd.service \
              --replace-fail '%h/.cargo/bin/jobd' "$out/bin/jobd"
          '';
          meta = {
            description = "Per-user job scheduler and supervisor (systemd timers, cron and supervisord in one daemon)";
            mainProgram = "jobd";
            platforms = pkgs.lib.platforms.linux;
          };
        };
      });

      homeManagerModules.default = { pkgs, lib, ... }: {
        imports = [ ./contrib/home-manager/jobd.nix ];
        services.jobd.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      # For machines without home-manager: jobd and its user unit for
      # every user.
      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./contrib/nixos/jobd.nix ];
        services.jobd.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };
    };
}
