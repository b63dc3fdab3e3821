package dev.coffer.cli.group;

import dev.coffer.cli.Main;
import picocli.CommandLine;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

/**
 * Runs {@code coffer} with the group commands as a separate process (as a user would: each
 * command a new JVM, state only in $COFFER_HOME). Registers the commands itself when the
 * build's command list does not have them yet.
 */
public final class GroupCli {
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cli = Main.commandLine();
        for (Object c : List.of(new RunCommand(), new PsCommand(), new LogsCommand(), new ExecCommand(), new StopCommand(),
                new RmCommand())) {
            String name = c.getClass().getAnnotation(picocli.CommandLine.Command.class).name();
            if (!cli.getSubcommands().containsKey(name)) cli.addSubcommand(c);
        }
        return cli;
    }

    record Outcome(int exitCode, String out, String err) {}

    static ProcessBuilder builder(Path home, Path work, String... args) {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classpath(), GroupCli.class.getName()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(work.toFile());
        pb.environment().put("COFFER_HOME", home.toString());
        return pb;
    }

    static Outcome run(Path home, Path work, String... args) throws Exception {
        Path out = Files.createTempFile(work, "out", ".txt");
        Path err = Files.createTempFile(work, "err", ".txt");
        Process p = builder(home, work, args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("coffer " + String.join(" ", args) + " did not finish: " + Files.readString(err));
        }
        return new Outcome(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    /** This JVM's class path, expanded from surefire's manifest-only jar if that is what it is. */
    static String classpath() {
        String cp = System.getProperty("java.class.path");
        String[] entries = cp.split(File.pathSeparator);
        if (entries.length != 1 || !entries[0].endsWith(".jar")) return cp;
        try (JarFile jar = new JarFile(entries[0])) {
            String manifestCp = jar.getManifest() == null ? null : jar.getManifest().getMainAttributes().getValue("Class-Path");
            if (manifestCp == null) return cp;
            List<String> out = new ArrayList<>();
            for (String item : manifestCp.trim().split("\\s+")) {
                out.add(item.startsWith("file:") ? Path.of(URI.create(item)).toString()
                        : Path.of(entries[0]).getParent().resolve(item).toString());
            }
            return String.join(File.pathSeparator, out);
        } catch (IOException e) {
            return cp;
        }
    }

    static Map<String, String> none() {
        return Map.of();
    }
}
