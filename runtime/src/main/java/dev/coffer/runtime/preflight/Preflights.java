package dev.coffer.runtime.preflight;

import dev.coffer.runtime.guest.GuestBuildException;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.SnpSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code coffer doctor}: every isolation and TEE Coffer offers, checked on this host. The SNP
 * part is {@link SnpPreflight}; the others are short because they need little.
 */
public final class Preflights {
    /**
     * What one isolation or TEE needs, checked.
     *
     * @param name  the {@code --isolation} or {@code --tee} value ("process", "microvm", "sim", "snp")
     * @param kind  "isolation" or "tee"
     */
    public record Feature(String name, String kind, List<Check> checks) {
        public Feature {
            checks = List.copyOf(checks);
        }

        public boolean ready() {
            return checks.stream().allMatch(Check::ok);
        }
    }

    private Preflights() {}

    /** Every isolation and TEE, checked against {@code host}; {@code home} is the Coffer home (its built guest). */
    public static List<Feature> doctor(HostProbe host, Path home, SnpSettings snp) {
        Path guestDir = home.resolve("guest");
        List<Feature> out = new ArrayList<>();
        out.add(new Feature("process", "isolation", List.of(ociRuntime(host))));
        out.add(new Feature("microvm", "isolation", List.of(qemuPresent(host), accelerator(host), guest(guestDir))));
        out.add(new Feature("sim", "tee", List.of(Check.ok("simulated secure processor",
                "always available; simulated, not hardware: its reports prove nothing to a third party"))));
        out.add(new Feature("snp", "tee", SnpPreflight.check(host, snp, guestDir).checks()));
        return out;
    }

    private static Check ociRuntime(HostProbe host) {
        for (String name : List.of("runc", "crun")) {
            if (host.command(name).isPresent()) return Check.ok("oci runtime", name + " at " + host.command(name).get());
        }
        return Check.missing("oci runtime", "neither runc nor crun on the PATH", "apt-get install crun (or runc)");
    }

    private static Check qemuPresent(HostProbe host) {
        return host.command(host.qemu()).map(p -> Check.ok("qemu", p.toString()))
                .orElse(Check.missing("qemu", host.qemu() + " not found", "apt-get install qemu-system-x86"));
    }

    /** KVM where a hardware KVM module is loaded (as the microVM backend decides), else TCG: slower, still isolating. */
    private static Check accelerator(HostProbe host) {
        boolean kvm = host.exists("/dev/kvm") && Files.isReadable(host.file("/dev/kvm")) && Files.isWritable(host.file("/dev/kvm"))
                && !host.exists("/sys/module/kvm_pvm")
                && (host.exists("/sys/module/kvm_amd") || host.exists("/sys/module/kvm_intel"));
        return Check.ok("accelerator", kvm ? "kvm (hardware virtualization)"
                : "tcg (software emulation, no usable hardware KVM here: a group starts in tens of seconds)");
    }

    private static Check guest(Path guestDir) {
        try {
            GuestImage g = GuestImage.load(guestDir);
            return Check.ok("guest", "built in " + guestDir + " (kernel " + g.kernelVersion() + ")");
        } catch (GuestBuildException e) {
            return Check.missing("guest", SnpPreflight.withoutAdvice(e.getMessage()), "run `coffer guest build`");
        }
    }

    /** One screen: "TITLE: ready" or "TITLE: not ready (N of M checks)", a line per check, what to do under each failure. */
    public static String render(String title, List<Check> checks) {
        long bad = checks.stream().filter(c -> !c.ok()).count();
        StringBuilder s = new StringBuilder(title).append(": ")
                .append(bad == 0 ? "ready" : "NOT READY (" + bad + " of " + checks.size() + " checks not met)").append('\n');
        int width = checks.stream().mapToInt(c -> c.name().length()).max().orElse(0);
        for (Check c : checks) {
            String mark = switch (c.status()) {
                case OK -> "ok     ";
                case MISSING -> "MISSING";
                case SKIPPED -> "skipped";
            };
            String indent = " ".repeat(2 + 7 + 2 + width + 2);
            String first = "  " + mark + "  " + pad(c.name(), width) + "  ";
            s.append(first).append(wrap(c.found(), indent, WIDTH).substring(indent.length())).append('\n');
            if (!c.fix().isEmpty()) s.append(wrap("fix: " + c.fix(), indent, WIDTH)).append('\n');
        }
        return s.toString();
    }

    /** Columns of a terminal the screen is laid out for. */
    static final int WIDTH = 120;

    /** {@code text} after {@code indent}, broken at spaces so no line passes {@code width} (a longer word stays whole). */
    static String wrap(String text, String indent, int width) {
        StringBuilder out = new StringBuilder(indent);
        int col = indent.length();
        boolean first = true;
        for (String word : text.split(" ")) {
            if (!first && col + 1 + word.length() > width) {
                out.append('\n').append(indent);
                col = indent.length();
                first = true;
            }
            if (!first) {
                out.append(' ');
                col++;
            }
            out.append(word);
            col += word.length();
            first = false;
        }
        return out.toString();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }
}
