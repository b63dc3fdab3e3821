package dev.coffer.runtime.guest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.AgentMain;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * Builds the microVM guest from the host's Debian packages and this Coffer's agent:
 * <ol>
 *   <li>kernel: the ELF vmlinux inside /boot/vmlinuz-VERSION (PVH boot, no self-decompression);</li>
 *   <li>JRE/agent disk: a jlinked runtime, the agent's jars and a class-data-sharing archive of
 *       the classes the agent loads, as ext4 with a dm-verity tree (see {@link AgentDisk});</li>
 *   <li>initramfs: busybox, the kernel modules in load order, crun, veritysetup, cryptsetup and
 *       every shared library they and the JRE need, and our /init (see {@link CpioArchive}).</li>
 * </ol>
 * The result is reproducible: the same packages and agent jars give byte-identical files.
 */
public final class GuestBuilder {
    /** Where the agent disk is staged. Fixed because the CDS archive records the path it was dumped from. */
    static final Path STAGE = Path.of("/tmp/coffer-guest-stage");
    static final String GUEST_MOUNT = "/opt/coffer";

    /** Modules the guest loads, in this order before dependencies are resolved (crc32c first: see KernelModules). */
    static final List<String> MODULES = List.of(
            "crc32c_generic", "libcrc32c", "virtio_mmio", "virtio_blk", "virtio_console", "virtio_net",
            "dm_mod", "dm_verity", "dm_crypt", "ext4", "erofs", "overlay", "loop",
            // authenticated volumes: dm-integrity below dm-crypt, authenc(hmac(sha256),xts(aes)) (hmac and sha256 are built in)
            "dm_integrity", "authenc",
            "xts", "aesni_intel", "af_alg", "algif_skcipher", "algif_hash");

    /**
     * Modules an SEV-SNP guest loads besides {@link #MODULES}, only when its kernel registered the
     * {@code sev-guest} platform device (it does so only in an SNP guest; elsewhere sev-guest
     * would refuse to load): the PCI virtio transport of the q35 machine an SNP launch uses, and
     * the secure processor's guest driver, which serves reports through /dev/sev-guest.
     */
    static final List<String> SNP_MODULES = List.of("virtio_pci", "sev_guest");

    /**
     * Loaded with {@link #SNP_MODULES} where the kernel has them: configfs-tsm (Linux >= 6.7,
     * {@code tsm}, later {@code tsm_report}) serves reports at /sys/kernel/config/tsm/report,
     * which the agent prefers to /dev/sev-guest.
     */
    static final List<String> SNP_OPTIONAL_MODULES = List.of("configfs", "tsm", "tsm_report");

    /** Host binaries copied into the initramfs, at the same paths. */
    /** dmsetup: the agent reads an opened volume's active table from the kernel (dev.coffer.agent.volume.ActiveMapping). */
    /** mke2fs: the file system on the group's scratch disk (dev.coffer.agent.volume.ScratchVolume); busybox's makes ext2 only. */
    static final List<String> BINARIES = List.of("/usr/bin/crun", "/usr/sbin/veritysetup", "/usr/sbin/cryptsetup", "/usr/sbin/dmsetup",
            "/usr/sbin/mke2fs");

    /** JVM options of the agent in the guest (the CDS archive must be dumped with the same GC). */
    // native access: the agent enters the group's network namespace with setns(2) through FFM.
    // ArchiveRelocationMode=0 maps the CDS archive at its dump-time address: the default (1)
    // relocates it, which rewrites pointers across all of its ~30 MB, so every page is read through
    // dm-verity and copied, seconds under emulation. The agent is the guest's only Java process, so
    // the address randomisation given up here protects little.
    //
    // jdk.virtualThreadScheduler.parallelism=2: the guest has one vCPU, so the JVM would give its
    // virtual threads one carrier, and one CPU-bound virtual thread (a key release generating its
    // RSA key, seconds under emulation) then holds back every other (the agent's connections and
    // the socket poller): requests went unanswered for tens of seconds (guest thread dumps). With
    // two carriers the kernel time-slices them, and the protocol is served while a release computes.
    static final List<String> JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss1m",
            "-XX:MaxRAMPercentage=40", "-Xshare:auto", "--enable-native-access=ALL-UNNAMED",
            "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0", "-Djdk.virtualThreadScheduler.parallelism=2");

    /**
     * The CDS dump's heap and metaspace: fixed, and large enough that no collection runs while the
     * classes load (see dumpCdsArchive); the dump's own collection before archiving is the only one.
     */
    static final List<String> DUMP_HEAP_OPTIONS = List.of("-Xms256m", "-Xmx256m", "-Xmn240m",
            "-XX:MetaspaceSize=1g", "-XX:MaxMetaspaceSize=1g");

    static final Set<String> OPTIONAL_MODULES = Set.of("java.desktop", "java.sql");

    private final Path guestDir;
    private final Consumer<String> progress;

    public GuestBuilder(Path guestDir, Consumer<String> progress) {
        this.guestDir = guestDir;
        this.progress = progress;
    }

    /** Installs missing packages (announced through progress), builds, and returns the guest. */
    public GuestImage build() throws IOException {
        HostPackages.ensureInstalled(progress);
        Files.createDirectories(guestDir);
        Path lockFile = STAGE.resolveSibling(STAGE.getFileName() + ".lock");
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockChannel.lock()) {
            try {
                return buildLocked();
            } finally {
                // under the lock: once it is released another build may already be staging here
                deleteTree(STAGE);
            }
        }
    }

    private GuestImage buildLocked() throws IOException {
        String version = kernelVersion();
        Path moduleDir = Path.of("/lib/modules", version);
        progress.accept("kernel " + version + ": extracting vmlinux from /boot/vmlinuz-" + version);
        VmlinuxExtractor.extract(Path.of("/boot/vmlinuz-" + version), guestDir.resolve(GuestImage.KERNEL_FILE));
        // the bzImage as it is, for an SNP launch: OVMF boots it and checks it against its measured hash
        Path bzImageTmp = guestDir.resolve(GuestImage.BZIMAGE_FILE + ".tmp");
        Files.copy(Path.of("/boot/vmlinuz-" + version), bzImageTmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(bzImageTmp, guestDir.resolve(GuestImage.BZIMAGE_FILE), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);

        deleteTree(STAGE);
        Files.createDirectories(STAGE.resolve("agent"));
        Path jre = STAGE.resolve("jre");
        List<Path> jars = stageAgentJars(STAGE.resolve("agent"));
        List<String> modules = javaModules(jars);
        progress.accept("jlink: " + String.join(",", modules));
        // In a JVM of its own: a second in-process jlink in the same JVM writes a different
        // lib/modules (state left behind by the first run), which would break reproducibility.
        Path jlink = Path.of(System.getProperty("java.home"), "bin", "jlink");
        if (!Files.isExecutable(jlink)) {
            throw new GuestBuildException("expected the JDK tool " + jlink + ", found none; run Coffer with a full JDK 25");
        }
        HostCommand.run(List.of(jlink.toString(), "--add-modules", String.join(",", modules), "--strip-debug",
                "--no-header-files", "--no-man-pages", "--output", jre.toString()), 600);
        // the CDS archive records each jar's mtime: fix them now, as the disk will carry them
        for (Path jar : jars) Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(AgentDisk.EPOCH_SECONDS * 1000));
        progress.accept("class-data-sharing archive for the agent");
        dumpCdsArchive(jre, jars);
        List<String> guestClasspath = jars.stream().map(j -> GUEST_MOUNT + "/agent/" + j.getFileName()).toList();
        Files.writeString(STAGE.resolve("agent/classpath"), String.join(":", guestClasspath) + "\n");
        List<String> options = new ArrayList<>(JVM_OPTIONS);
        options.add("-XX:SharedArchiveFile=" + GUEST_MOUNT + "/agent/agent.jsa");
        Files.writeString(STAGE.resolve("agent/jvm-options"), String.join(" ", options) + "\n");

        progress.accept("agent disk: ext4 + dm-verity");
        Path disk = guestDir.resolve(GuestImage.AGENT_DISK_FILE);
        Path diskTmp = guestDir.resolve(GuestImage.AGENT_DISK_FILE + ".tmp");
        AgentDisk.Result agentDisk = AgentDisk.create(STAGE, diskTmp);
        Files.move(diskTmp, disk, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        progress.accept("initramfs: busybox, modules, crun, veritysetup, cryptsetup, libraries");
        CpioArchive initrd = initramfs(moduleDir, jre);
        Path initrdTmp = guestDir.resolve(GuestImage.INITRD_FILE + ".tmp");
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(initrdTmp), 1 << 16)) {
            initrd.writeTo(out);
        }
        Files.move(initrdTmp, guestDir.resolve(GuestImage.INITRD_FILE), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);

        String cmdline = String.join(" ", "console=ttyS0", "quiet", "reboot=t", "panic=-1",
                "tsc_early_khz=" + tscKhz(), "8250.nr_uarts=1", "cryptomgr.notests",
                "coffer.agentdisk=" + agentDisk.rootHash() + "," + agentDisk.dataBlocks());
        GuestImage image = new GuestImage(guestDir, version, agentDisk.rootHash(), agentDisk.dataBlocks(), cmdline,
                agentCodeDigest());
        image.write();
        return image;
    }

    /** The newest kernel that has both /boot/vmlinuz-V and /lib/modules/V. */
    static String kernelVersion() throws IOException {
        TreeSet<String> versions = new TreeSet<>(GuestBuilder::compareVersions);
        try (Stream<Path> s = Files.list(Path.of("/boot"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("vmlinuz-"))
                    .map(n -> n.substring("vmlinuz-".length()))
                    .filter(v -> Files.isRegularFile(Path.of("/lib/modules", v, "modules.dep")))
                    .forEach(versions::add);
        } catch (java.nio.file.NoSuchFileException e) {
            // no /boot at all: reported below
        }
        if (versions.isEmpty()) {
            throw new GuestBuildException("expected a kernel /boot/vmlinuz-VERSION with /lib/modules/VERSION, found none; "
                    + "install one: apt-get install -y --no-install-recommends linux-image-amd64");
        }
        return versions.last();
    }

    static int compareVersions(String a, String b) {
        String[] x = a.split("[.-]");
        String[] y = b.split("[.-]");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = x[i].matches("\\d+") && y[i].matches("\\d+")
                    ? Long.compare(Long.parseLong(x[i]), Long.parseLong(y[i])) : x[i].compareTo(y[i]);
            if (c != 0) return c;
        }
        return Integer.compare(x.length, y.length);
    }

    /** The host's TSC frequency: microvm guests hang at random without tsc_early_khz. */
    static long tscKhz() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("cpu MHz")) {
                String mhz = line.substring(line.indexOf(':') + 1).trim();
                return Math.round(Double.parseDouble(mhz) * 1000);
            }
        }
        throw new GuestBuildException("expected a \"cpu MHz\" line in /proc/cpuinfo to set tsc_early_khz, found none");
    }

    /**
     * One class from each jar the in-guest agent loads: the entry point, the agent, the policy
     * enforcer and its Rego engine (re2j, YAML and crypto built-ins), layer verification,
     * attestation evidence, and Jackson. A jar missing here fails at the guest's first request
     * (MicroVmSandboxTest boots the guest and would show it), so keep it in step with the agent's
     * pom when a dependency is added.
     */
    private static final List<Class<?>> AGENT_JAR_CLASSES = List.of(
            GuestAgent.class, AgentMain.class,
            dev.coffer.policy.enforce.PolicyEnforcer.class, dev.coffer.rego.Rego.class, com.google.re2j.Pattern.class,
            com.fasterxml.jackson.dataformat.yaml.YAMLFactory.class, org.yaml.snakeyaml.Yaml.class,
            dev.coffer.layer.ext4.Ext4Writer.class, dev.coffer.attest.evidence.Evidence.class, dev.coffer.channel.SignedRelease.class,
            org.bouncycastle.jce.provider.BouncyCastleProvider.class, org.bouncycastle.cert.X509CertificateHolder.class,
            org.bouncycastle.asn1.cmc.CMCStatus.class,
            ObjectMapper.class, JsonFactory.class, JsonInclude.class);

    /**
     * The agent's jars: this module (the in-guest entry point {@link GuestAgent}), the agent, and
     * Jackson. Copied under stable names in class path order.
     */
    /** The jars (or class directories) the agent disk is made from, in classpath order. */
    private static LinkedHashSet<Path> agentSources() {
        LinkedHashSet<Path> sources = new LinkedHashSet<>();
        for (Class<?> c : AGENT_JAR_CLASSES) {
            var location = c.getProtectionDomain().getCodeSource();
            if (location == null) throw new GuestBuildException("cannot locate the jar of " + c.getName() + " to put on the agent disk");
            try {
                sources.add(Path.of(location.getLocation().toURI()));
            } catch (java.net.URISyntaxException e) {
                throw new GuestBuildException("cannot locate the jar of " + c.getName() + ": " + e.getMessage(), e);
            }
        }
        return sources;
    }

    private static volatile String agentCode;

    /**
     * SHA-256 over this Coffer's own agent classes (names and bytes of every dev/coffer class in
     * the agent's jars or class directories, sorted by name): what a guest built by this Coffer
     * carries, so a guest built by another one is noticed before it runs an agent that may not
     * speak this host's protocol. Third-party jars follow Coffer's own version, so they are left out.
     */
    public static String agentCodeDigest() {
        String digest = agentCode;
        if (digest != null) return digest;
        try {
            java.util.TreeMap<String, byte[]> classes = new java.util.TreeMap<>();
            for (Path source : agentSources()) AgentDisk.collectClasses(source, "dev/coffer/", classes);
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            for (var e : classes.entrySet()) {
                sha.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(e.getValue());
            }
            digest = java.util.HexFormat.of().formatHex(sha.digest());
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new GuestBuildException("cannot read this Coffer's agent classes (" + e.getMessage() + ")", e);
        }
        agentCode = digest;
        return digest;
    }

    private static List<Path> stageAgentJars(Path dir) throws IOException {
        LinkedHashSet<Path> sources = agentSources();
        List<Path> jars = new ArrayList<>();
        int i = 0;
        for (Path source : sources) {
            String name = source.getFileName().toString();
            if (!name.endsWith(".jar")) name = name + ".jar";
            Path target = dir.resolve(String.format("%02d-%s", i++, name));
            AgentDisk.stageJar(source, target);
            jars.add(target);
        }
        return jars;
    }

    /**
     * java.base plus what jdeps finds the jars need, plus the HTTP server for the in-group SKR API.
     * Jackson's optional integrations (java.beans, java.sql types) are left out: they would add
     * tens of megabytes the agent never loads, and the training run proves the rest suffices.
     */
    private static List<String> javaModules(List<Path> jars) {
        List<String> args = new ArrayList<>(List.of("--print-module-deps", "--ignore-missing-deps", "--multi-release", "25"));
        jars.forEach(j -> args.add(j.toString()));
        String out = runTool("jdeps", args.toArray(String[]::new));
        TreeSet<String> modules = new TreeSet<>(List.of("java.base", "jdk.httpserver"));
        for (String m : out.strip().split(",")) {
            if (m.matches("[a-z][a-z0-9.]*") && !OPTIONAL_MODULES.contains(m)) modules.add(m);
        }
        return List.copyOf(modules);
    }

    /**
     * Dumps a static CDS archive of the classes the agent needs: the JDK's own default list, the
     * extra JDK and Bouncy Castle classes a real agent session loads (a resource recorded from
     * real runs, see its header), and every class in the agent's other jars. All three are build
     * inputs, never a run recorded during the build: a training run's list varies with thread
     * timing, and so would the archive, the disk's root hash and the launch measurement. Bouncy
     * Castle's classes are archived only because its jars are staged unsigned
     * ({@link AgentDisk#stageUnsigned}): CDS skips every class of a signed jar.
     */
    private static void dumpCdsArchive(Path jre, List<Path> jars) throws IOException {
        Path javaBin = jre.resolve("bin/java");
        String cp = String.join(":", jars.stream().map(Path::toString).toList());
        TreeSet<String> classes = new TreeSet<>();
        Path jdkList = jre.resolve("lib/classlist");
        List<String> lines = new ArrayList<>(Files.isRegularFile(jdkList) ? Files.readAllLines(jdkList) : List.of());
        try (InputStream extra = GuestBuilder.class.getResourceAsStream("/guest/agent.classlist")) {
            if (extra == null) throw new GuestBuildException("the agent's class list is missing from the Coffer runtime jar; rebuild Coffer");
            lines.addAll(List.of(new String(extra.readAllBytes(), StandardCharsets.UTF_8).split("\n")));
        }
        for (String line : lines) {
            if (!line.isBlank() && !line.startsWith("#") && !line.startsWith("@")) classes.add(line.strip().split(" ")[0]);
        }
        for (Path jar : jars) {
            try (JarFile jf = new JarFile(jar.toFile())) {
                // Bouncy Castle's thousands of classes would triple the archive for the few hundred the
                // agent touches: those come from the class list resource
                jf.stream().map(JarEntry::getName)
                        .filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/") && !n.endsWith("module-info.class")
                                && !n.startsWith("org/bouncycastle/"))
                        .forEach(n -> classes.add(n.substring(0, n.length() - ".class".length())));
            }
        }
        Path list = Files.createTempFile("coffer-agent", ".classlist");
        try {
            Files.write(list, classes);
            List<String> dump = new ArrayList<>(List.of(javaBin.toString(), "-Xshare:dump", "-XX:SharedClassListFile=" + list,
                    "-XX:SharedArchiveFile=" + STAGE.resolve("agent/agent.jsa")));
            dump.addAll(JVM_OPTIONS.stream().filter(o -> !o.startsWith("-Xshare") && !o.startsWith("-XX:MaxRAMPercentage")).toList());
            // A fixed heap, as the JDK dumps its own default archive (make/Images.gmk): a heap sized
            // from the host's memory grows and collects at moments that vary from run to run. And
            // no collection at all while the classes load: with the JDK's default MetaspaceSize a
            // "Metadata GC Threshold" collection ran midway, and whether one runs there changes
            // the archive throughout (2.1 million bytes differed between a dump with it and one
            // without; the reference processing and table cleaning it sets off run on other
            // threads, at moments the machine's load decides). The dump's own collection before
            // archiving stays; it runs at the same point every time. The archive serves the
            // guest's larger heap all the same.
            dump.addAll(DUMP_HEAP_OPTIONS);
            // No JIT threads during the dump: a compiler thread creates symbols and loads classes at
            // moments that vary with the machine's load, and the archive orders what it keeps by
            // where those landed. Interpreted, the dump takes as long and its archive is the same
            // bytes as a compiled dump's whenever that one was deterministic (checked by cmp); CI
            // saw agent.img differ at the archive's CRC in 2 of 3 loaded runs without this.
            dump.add("-Xint");
            dump.addAll(List.of("-cp", cp));
            HostCommand.run(dump, 600);
        } finally {
            Files.deleteIfExists(list);
        }
    }

    private CpioArchive initramfs(Path moduleDir, Path jre) throws IOException {
        CpioArchive cpio = new CpioArchive();
        for (String dir : List.of("proc", "sys", "dev", "run", "tmp", "etc", "usr/bin", "usr/sbin", "sbin", "lib64", "opt/coffer")) {
            cpio.directory(dir);
        }
        cpio.charDevice("dev/console", 5, 1, 0600);
        cpio.charDevice("dev/null", 1, 3, 0666);
        try (InputStream init = GuestBuilder.class.getResourceAsStream("/guest/init")) {
            if (init == null) throw new GuestBuildException("the guest /init script is missing from the Coffer runtime jar; rebuild Coffer");
            cpio.file("init", init.readAllBytes(), 0755);
        }
        Path busybox = Path.of("/bin/busybox");
        if (!SharedLibraries.of(List.of(busybox), Set.of()).isEmpty()) {
            throw new GuestBuildException("expected a static /bin/busybox, found a dynamically linked one; "
                    + "apt-get install -y --no-install-recommends busybox-static");
        }
        cpio.file("bin/busybox", busybox, 0755);

        KernelModules km = KernelModules.load(moduleDir);
        StringBuilder order = new StringBuilder();
        for (String rel : km.loadOrder(MODULES)) {
            String file = rel.substring(rel.lastIndexOf('/') + 1);
            cpio.file("lib/modules/" + file, moduleDir.resolve(rel), 0644);
            order.append(file).append('\n');
        }
        cpio.file("etc/coffer/modules", order.toString().getBytes(StandardCharsets.UTF_8), 0644);
        StringBuilder snpOrder = new StringBuilder();
        for (String rel : snpLoadOrder(km)) {
            String file = rel.substring(rel.lastIndexOf('/') + 1);
            cpio.file("lib/modules/" + file, moduleDir.resolve(rel), 0644);
            snpOrder.append(file).append('\n');
        }
        cpio.file("etc/coffer/modules-snp", snpOrder.toString().getBytes(StandardCharsets.UTF_8), 0644);
        cpio.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                .getBytes(StandardCharsets.UTF_8), 0644);
        cpio.file("etc/group", "root:x:0:\nnogroup:x:65534:\n".getBytes(StandardCharsets.UTF_8), 0644);
        cpio.symlink("etc/resolv.conf", "/run/resolv.conf");

        List<Path> elf = new ArrayList<>();
        for (String b : BINARIES) {
            Path p = Path.of(b);
            if (!Files.isRegularFile(p)) {
                throw new GuestBuildException("expected " + b + " on this host for the guest, found none; "
                        + "apt-get install -y --no-install-recommends crun cryptsetup-bin dmsetup e2fsprogs");
            }
            cpio.file(b, p, 0755);
            elf.add(p);
        }
        // the JRE lives on the agent disk but loads its system libraries from the initramfs
        Set<String> jreOwn = new TreeSet<>();
        try (Stream<Path> s = Files.walk(jre)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                if (SharedLibraries.isElf(p)) {
                    elf.add(p);
                    jreOwn.add(p.getFileName().toString());
                }
            }
        }
        for (String lib : SharedLibraries.of(elf, jreOwn)) {
            if (lib.startsWith(jre.toString())) continue;
            cpio.file(lib, Path.of(lib).toRealPath(), 0755);
        }
        return cpio;
    }

    /**
     * The load order of what an SNP guest loads after {@link #MODULES}: {@link #SNP_MODULES}, the
     * optional ones this kernel has, and their dependencies not already loaded.
     */
    static List<String> snpLoadOrder(KernelModules km) throws IOException {
        List<String> base = km.loadOrder(MODULES);
        List<String> wanted = new ArrayList<>(MODULES);
        wanted.addAll(SNP_MODULES);
        for (String m : SNP_OPTIONAL_MODULES) if (km.exists(m)) wanted.add(m);
        List<String> all = new ArrayList<>(km.loadOrder(wanted));
        all.removeAll(base);
        return List.copyOf(all);
    }

    private static String runTool(String name, String... args) {
        ToolProvider tool = ToolProvider.findFirst(name).orElseThrow(() -> new GuestBuildException(
                "expected the JDK tool " + name + " in this Java runtime, found none; run Coffer with a full JDK 25"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = tool.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        if (rc != 0) {
            throw new GuestBuildException(name + " failed with exit " + rc + ": " + (err + " " + out).strip().replace('\n', ' '));
        }
        return out.toString();
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
