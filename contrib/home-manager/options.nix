# jobd's config keys as Nix module options, built from the JSON Schema that
# `jobd schema` prints (schema.json next to this file): one option per key,
# typed as the schema types it, `null` (left out of the file) by default,
# described with the schema's words. A test keeps schema.json current.
{ lib, schema ? builtins.fromJSON (builtins.readFile ./schema.json) }:

let
  t = lib.types;

  # A JSON Schema fragment -> a Nix option type.
  typeOf = p:
    if p ? enum then t.enum p.enum
    else if p ? oneOf then t.oneOf (map typeOf p.oneOf)
    else if builtins.isList (p.type or null) then t.oneOf (map (x: typeOf (removeAttrs p [ "enum" ] // { type = x; })) p.type)
    else if (p.type or null) == "string" then t.str
    else if (p.type or null) == "boolean" then t.bool
    else if (p.type or null) == "integer" then t.int
    else if (p.type or null) == "number" then t.either t.int t.float
    else if (p.type or null) == "null" then t.enum [ null ]
    else if (p.type or null) == "array" then t.listOf (typeOf (p.items or { }))
    else if (p.type or null) == "object" && p ? properties then t.submodule { options = optionsOf p.properties; }
    else if (p.type or null) == "object" then t.attrsOf (typeOf (if builtins.isAttrs (p.additionalProperties or true) then p.additionalProperties else { }))
    else t.anything;

  optionOf = name: p: lib.mkOption {
    type = t.nullOr (typeOf p);
    default = null;
    description = (p.description or name)
      + lib.optionalString (p ? default) " Default: `${builtins.toJSON p.default}`.";
  };

  optionsOf = lib.mapAttrs optionOf;

  # Option values -> the file's values: unset (null) keys left out, at
  # every depth.
  clean = v:
    if builtins.isAttrs v then lib.filterAttrs (_: x: x != null) (lib.mapAttrs (_: clean) v)
    else if builtins.isList v then map clean v
    else v;
in
{
  inherit typeOf clean;
  job = optionsOf schema."$defs".job.properties;
  top = optionsOf (removeAttrs schema.properties [ "jobs" "defaults" ]);
}
