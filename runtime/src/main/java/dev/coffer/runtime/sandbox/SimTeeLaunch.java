package dev.coffer.runtime.sandbox;

import dev.coffer.agent.tee.SimLaunchContext;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.measure.LaunchMeasurement;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The host side of a launch on the simulated secure processor, as a launcher does it for a real
 * SNP guest: measure what is started, bind the policy as HOST_DATA, and hand the sandbox its
 * sealed launch context (and nothing else) so only it can obtain reports.
 *
 * <p>MEASUREMENT = {@link LaunchMeasurement} over two artifacts:
 * <ul>
 * <li>{@code agent}: the agent's code — one line {@code "<sha384 hex> <name>\n"} per class path
 *     entry in class path order; a jar is named by its file name and hashed whole, a class
 *     directory contributes one line per file (path relative to the directory, sorted). File
 *     names, not absolute paths, so the same build measures the same wherever it is installed.</li>
 * <li>{@code launch-parameters}: the Java feature version, the JVM options, the main class and
 *     the agent flags that decide its behaviour ({@code --runtime}, {@code --tee},
 *     {@code --skr-port}), one per line. Locations (socket, state directory, policy and
 *     launch-context paths) and the group name are left out: the policy's content is HOST_DATA,
 *     the context names its group, and leaving them out lets one reference MEASUREMENT cover
 *     every group run by the same agent build.</li>
 * </ul>
 */
final class SimTeeLaunch {
    static final String CONTEXT_FILE = "launch-context.json";

    private SimTeeLaunch() {}

    /** What the launch fixed, in hex, and where its context file is. */
    record Fixed(String measurementHex, String hostDataHex, Path contextFile) {}

    /**
     * Measures the launch, creates it on the chip in {@code simTeeDir} (created on first use) and
     * writes the sealed context into {@code groupDir}.
     *
     * @param policyFile the policy the agent gets, or null for allow-all (HOST_DATA of zeros)
     */
    static Fixed create(Path simTeeDir, String groupName, Path groupDir, String classpath, List<String> measuredParameters,
                        Path policyFile) throws IOException {
        // the jars' digests remembered in the home beside the chip (see CodeDigestMemo)
        CodeDigestMemo memo = CodeDigestMemo.in(simTeeDir.toAbsolutePath().getParent());
        LaunchMeasurement artifacts = measurement(classpath, measuredParameters, memo);
        memo.save();
        byte[] hostData = policyFile == null ? new byte[32] : HostData.ofPolicy(Files.readAllBytes(policyFile));
        SimulatedSecureProcessor chip;
        try {
            chip = SimulatedSecureProcessor.openOrCreateForSigning(simTeeDir);
        } catch (RuntimeException e) {
            throw new SandboxException("cannot open the simulated secure processor in " + simTeeDir + ": " + e.getMessage(), e);
        }
        Path context = groupDir.resolve(CONTEXT_FILE);
        SimLaunch launch = SimLaunchContext.create(chip, groupName, artifacts.compute(), hostData, context);
        HexFormat hex = HexFormat.of();
        return new Fixed(hex.formatHex(launch.measurement()), hex.formatHex(launch.hostData()), context);
    }

    /** The launch's artifacts: the agent's code and its measured parameters (see the class comment). */
    static LaunchMeasurement measurement(String classpath, List<String> measuredParameters) throws IOException {
        return measurement(classpath, measuredParameters, null);
    }

    /** As {@link #measurement(String, List)}, jars' digests taken from {@code memo} where it has them (null: none). */
    static LaunchMeasurement measurement(String classpath, List<String> measuredParameters, CodeDigestMemo memo) throws IOException {
        return new LaunchMeasurement()
                .addText(LaunchMeasurement.AGENT, agentCodeManifest(classpath, memo))
                .addText(LaunchMeasurement.LAUNCH_PARAMETERS, String.join("\n", measuredParameters) + "\n");
    }

    /** The {@code agent} artifact's text: one line per class path file (see the class comment). */
    static String agentCodeManifest(String classpath) throws IOException {
        return agentCodeManifest(classpath, null);
    }

    static String agentCodeManifest(String classpath, CodeDigestMemo memo) throws IOException {
        StringBuilder out = new StringBuilder();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) continue;
            Path p = Path.of(entry);
            if (Files.isRegularFile(p)) {
                out.append(memo == null ? AgentAotCache.sha384(p) : memo.sha384(p)).append(' ').append(p.getFileName()).append('\n');
            } else if (Files.isDirectory(p)) {
                List<Path> files;
                try (Stream<Path> walk = Files.walk(p)) {
                    files = walk.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path f : files) {
                    out.append(AgentAotCache.sha384(f)).append(' ').append(p.relativize(f).toString().replace(File.separatorChar, '/')).append('\n');
                }
            } else {
                // The JVM ignores a missing entry too; measuring "nothing" for it keeps the record honest.
                out.append("missing ").append(p.getFileName()).append('\n');
            }
        }
        if (out.isEmpty()) throw new SandboxException("expected the agent's class path to name its code, found it empty");
        return out.toString();
    }
}
