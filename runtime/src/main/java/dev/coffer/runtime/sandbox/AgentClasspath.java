package dev.coffer.runtime.sandbox;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The class path to start the agent JVM with: this JVM's own. When this JVM was started from a
 * manifest-only jar (surefire's booter, an executable jar), the real entries are in that jar's
 * Class-Path manifest attribute, so they are expanded.
 */
final class AgentClasspath {
    private AgentClasspath() {}

    static String current() {
        String cp = System.getProperty("java.class.path", "");
        String[] entries = cp.split(File.pathSeparator);
        if (entries.length != 1 || !entries[0].endsWith(".jar")) return cp;
        try (JarFile jar = new JarFile(entries[0])) {
            Manifest mf = jar.getManifest();
            String classPath = mf == null ? null : mf.getMainAttributes().getValue("Class-Path");
            if (classPath == null || classPath.isBlank()) return cp;
            List<String> out = new ArrayList<>();
            out.add(entries[0]);
            Path base = Path.of(entries[0]).toAbsolutePath().getParent();
            for (String item : classPath.trim().split("\\s+")) {
                if (item.startsWith("file:")) {
                    out.add(Path.of(URI.create(item)).toString());
                } else {
                    out.add(base.resolve(item).normalize().toString());
                }
            }
            return String.join(File.pathSeparator, out);
        } catch (IOException | IllegalArgumentException e) {
            return cp;
        }
    }
}
