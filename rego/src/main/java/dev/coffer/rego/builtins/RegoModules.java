package dev.coffer.rego.builtins;

import dev.coffer.rego.RegoException;
import dev.coffer.rego.parser.ModuleJson;
import dev.coffer.rego.parser.Parser;

/** rego.parse_module: a module's source parsed to OPA's JSON AST (v1 syntax unless the module says otherwise). */
final class RegoModules {
    private RegoModules() {
    }

    static void register(Builtins.Registry r) {
        r.add("rego.parse_module", 2, (c, a) -> {
            String file = Args.str("rego.parse_module", a, 0);
            String src = Args.str("rego.parse_module", a, 1);
            try {
                return ModuleJson.of(Parser.parseModule(file, src, true));
            } catch (RegoException e) {
                throw BuiltinException.builtin("rego.parse_module", e.located());
            }
        });
    }
}
