package dev.coffer.cli.rego;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.UsageException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Loads .rego modules and JSON documents given on the command line. */
final class RegoFiles {
    private RegoFiles() {
    }

    record Loaded(List<RegoModule> modules, Value data) {
    }

    static Loaded load(List<Path> paths) {
        List<RegoModule> modules = new ArrayList<>();
        Value data = ObjectValue.EMPTY;
        for (Path p : paths) {
            if (!Files.exists(p)) throw new UsageException(p + " does not exist; pass a .rego or .json file or a directory");
            List<Path> files;
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    files = s.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".rego") || f.toString().endsWith(".json"))
                            .sorted().toList();
                } catch (IOException e) {
                    throw new CofferException("cannot list " + p + ": " + e.getMessage());
                }
            } else {
                files = List.of(p);
            }
            for (Path f : files) {
                String text = read(f);
                if (f.toString().endsWith(".json")) {
                    try {
                        data = merge(data, Json.parse(text));
                    } catch (IllegalArgumentException e) {
                        throw new CofferException(f + ": " + e.getMessage());
                    }
                } else {
                    modules.add(new RegoModule(f.toString(), text));
                }
            }
        }
        return new Loaded(modules, data);
    }

    static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            throw new CofferException("cannot read " + f + ": " + e.getMessage());
        }
    }

    private static Value merge(Value a, Value b) {
        if (a instanceof ObjectValue x && b instanceof ObjectValue y) {
            java.util.TreeMap<Value, Value> m = new java.util.TreeMap<>(x.map());
            for (var e : y.map().entrySet()) m.merge(e.getKey(), e.getValue(), RegoFiles::merge);
            return ObjectValue.wrap(m);
        }
        return b;
    }
}
