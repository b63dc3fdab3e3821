package dev.coffer.rego.conformance;

import dev.coffer.rego.Rego;

import java.nio.file.Path;

/**
 * Developer entry point: java ... ConformanceMain DIR [v0|v1] [failures] prints the table and,
 * with a third argument, the failures. Without a syntax the directory's name decides (a
 * {@code v0} component: v0 cases).
 */
public final class ConformanceMain {
    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        Path dir = Path.of(args[0]);
        Rego.Syntax syntax = args.length > 1 ? Rego.Syntax.valueOf(args[1].toUpperCase(java.util.Locale.ROOT)) : ConformanceRunner.syntaxOf(dir);
        ConformanceRunner.Report r = new ConformanceRunner(syntax).run(dir);
        r.print(System.out, args.length > 2);
        System.out.printf("took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }
}
