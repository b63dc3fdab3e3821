package dev.coffer.rego.conformance;

import dev.coffer.rego.Rego;

import java.nio.file.Path;

/** Developer entry point: java ... ConformanceMain DIR [filter] prints the table and failures. */
public final class ConformanceMain {
    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        ConformanceRunner.Report r = new ConformanceRunner(Rego.Syntax.V1).run(Path.of(args[0]));
        r.print(System.out, args.length > 1);
        System.out.printf("took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }
}
