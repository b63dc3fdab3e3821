package dev.coffer.rego;

import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.parser.Parser;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Entry point: compile Rego modules into a {@link CompiledPolicy}. */
public final class Rego {
    /** Syntax of modules that do not say: v1 (OPA 1.x default) or v0 (OPA 0.x). */
    public enum Syntax { V0, V1 }

    /** @param syntax default syntax for modules without {@code import rego.v1}
     *  @param extraBuiltins additional built-ins by name (may replace standard ones) */
    public record Options(Syntax syntax, Map<String, Builtin> extraBuiltins) {
        public static final Options DEFAULT = new Options(Syntax.V1, Map.of());

        public Options withSyntax(Syntax s) {
            return new Options(s, extraBuiltins);
        }
    }

    private Rego() {
    }

    public static CompiledPolicy compile(List<RegoModule> modules) {
        return compile(modules, Options.DEFAULT);
    }

    /**
     * Parses and compiles the modules together. Throws {@link RegoException} naming
     * {@code module:line:column} for syntax and compile errors.
     */
    public static CompiledPolicy compile(List<RegoModule> modules, Options options) {
        List<Ast.Module> parsed = new ArrayList<>();
        List<String> pkgs = new ArrayList<>();
        for (RegoModule m : modules) {
            try {
                Ast.Module am = Parser.parseModule(m.name(), m.source(), options.syntax() == Syntax.V1);
                parsed.add(am);
                pkgs.add(String.join(".", am.pkg()));
            } catch (StackOverflowError e) {
                throw new RegoException("rego_parse_error", m.name(), "module nested too deeply to parse");
            }
        }
        Compiler c = new Compiler(options.extraBuiltins());
        try {
            c.compile(parsed);
        } catch (StackOverflowError e) {
            throw new RegoException("rego_compile_error", null, "policy nested too deeply to compile");
        }
        return new CompiledPolicy(c, pkgs);
    }
}
