# services.jobd.settings -> the text of jobd.yaml. JSON is YAML, and
# builtins.toJSON needs nothing from nixpkgs, so this part can be
# evaluated (and checked with `jobd check`) on its own.
settings: builtins.toJSON settings
