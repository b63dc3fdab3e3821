package dev.coffer.cli.guest;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.attest.measure.LaunchMeasurement;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.UsageException;
import dev.coffer.cli.attest.TestEndorser;
import dev.coffer.runtime.guest.GuestEndorsements;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer guest endorse} and {@code coffer guest endorsements}. */
class GuestEndorseCommandTest {
    static final String ROOT = "ab".repeat(32);
    static final String M = "5e".repeat(48);

    @TempDir
    Path home;
    @TempDir
    Path work;

    CliRun run(String... args) {
        CommandLine cli = new CommandLine(new CofferCommand()).addSubcommand(new GuestCommand(() -> home));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof UsageException ue) {
                cmd.getErr().println("coffer: " + ue.getMessage());
                return 2;
            }
            if (e instanceof CofferException ce) {
                cmd.getErr().println("coffer: " + ce.getMessage());
                return ce.exitCode();
            }
            throw e;
        });
        return CliRun.execute(cli, args);
    }

    static JsonNode json(CliRun r) throws Exception {
        return new ObjectMapper().readTree(r.out());
    }

    void writeGuest() throws Exception {
        Path dir = Files.createDirectories(home.resolve("guest"));
        Files.writeString(dir.resolve("vmlinux"), "kernel");
        Files.writeString(dir.resolve("initrd.cpio"), "initrd");
        Files.write(dir.resolve("agent.img"), new byte[3 * 4096]);
        Files.writeString(dir.resolve("guest.json"), """
                {"format":1,"kernelVersion":"6.1.0-test","kernel":"vmlinux","initrd":"initrd.cpio","agentDisk":"agent.img",
                 "agentRootHash":"%s","agentDataBlocks":2,"cmdline":"console=ttyS0 coffer.agentdisk=%s,2"}
                """.formatted(ROOT, ROOT));
    }

    @Test
    void homeKeyEndorsesTheMicroVmGuestAndTheProcessSandbox() throws Exception {
        writeGuest();
        String guestMeasurement = HexFormat.of().formatHex(new LaunchMeasurement()
                .add(LaunchMeasurement.KERNEL, "kernel".getBytes(StandardCharsets.UTF_8))
                .add(LaunchMeasurement.INITRD, "initrd".getBytes(StandardCharsets.UTF_8))
                .addText(LaunchMeasurement.CMDLINE, "console=ttyS0 coffer.agentdisk=" + ROOT + ",2")
                .add("agent-disk-verity-root", HexFormat.of().parseHex(ROOT)).compute());
        CliRun vm = run("guest", "endorse", "--microvm", "-o", "json");
        assertEquals(0, vm.exit(), vm.out() + vm.err());
        assertEquals(guestMeasurement, json(vm).get("measurement").asText());
        String homeDid = GuestEndorsements.homeKey(home).did();
        assertEquals(homeDid, json(vm).get("issuer").asText());
        assertEquals("coffer-guest", json(vm).get("feed").asText());

        CliRun proc = run("guest", "endorse", "--process");
        assertEquals(0, proc.exit(), proc.out() + proc.err());
        assertTrue(proc.out().contains("endorsed " + ProcessSandboxBackend.simMeasurementHex("auto", null, List.of(), List.of())), proc.out());
        assertTrue(proc.out().contains("trust it with: --trust-endorser '" + homeDid + ",coffer-guest'"), proc.out());

        CliRun list = run("guest", "endorsements", "-o", "json");
        assertEquals(0, list.exit(), list.err());
        JsonNode j = json(list);
        assertEquals(homeDid, j.get("homeIssuer").asText());
        assertEquals(2, j.get("endorsements").size());
        for (JsonNode e : j.get("endorsements")) {
            assertTrue(e.get("intact").asBoolean(), e.toString());
            assertTrue(e.get("homeKey").asBoolean(), e.toString());
            assertEquals(1, e.get("guestSvn").asLong());
            assertTrue(e.has("notAfter"));
        }
        CliRun text = run("guest", "endorsements");
        assertTrue(text.out().contains("microvm " + guestMeasurement + " svn 1"), text.out());
        assertTrue(text.out().contains("(home key)"), text.out());
    }

    @Test
    void buildEndorsesTheGuestAndTheProcessSandboxAndPrintsTheIssuer() throws Exception {
        writeGuest();
        GuestImage guest = GuestImage.load(home.resolve("guest"));
        List<GuestEndorsements.Entry> endorsed = GuestCommand.endorseBuilt(home, guest);
        assertEquals(List.of("microvm", "process"), endorsed.stream().map(GuestEndorsements.Entry::kind).toList());
        StringWriter text = new StringWriter();
        dev.coffer.cli.OutputOption plain = new dev.coffer.cli.OutputOption();
        GuestCommand.printMeasured(new PrintWriter(text, true), plain, guest, guest.measurement(), endorsed);
        String did = GuestEndorsements.homeKey(home).did();
        assertTrue(text.toString().contains("endorsed by " + did + " (feed coffer-guest)"), text.toString());
        assertTrue(text.toString().contains("  microvm " + HexFormat.of().formatHex(guest.measurement().compute())), text.toString());
        for (GuestEndorsements.Entry e : endorsed) {
            EndorsementVerdict v = EndorsementVerifier.verify(GuestEndorsement.parse(Files.readAllBytes(e.file())), e.endorsement().launchMeasurement(),
                    Instant.now(), List.of(GuestEndorsements.homeEndorser(home)));
            assertTrue(v.endorsed(), v.summary());
        }
    }

    @Test
    void userKeyAndChainEndorseAMeasurement() throws Exception {
        TestEndorser org = TestEndorser.make("acme-guest", Instant.now().minusSeconds(3600), Instant.now().plusSeconds(86400 * 365));
        Path key = work.resolve("release.key"), chain = work.resolve("release-chain.pem");
        org.writePem(key, chain);
        Path out = work.resolve("guest.cose");
        CliRun r = run("guest", "endorse", "--key", key.toString(), "--chain", chain.toString(), "--feed", "acme-guest",
                "--measurement", M.toUpperCase(), "--svn", "4", "--out", out.toString(), "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(org.did(), json(r).get("issuer").asText());
        GuestEndorsement e = GuestEndorsement.parse(Files.readAllBytes(out));
        assertEquals(M, e.launchMeasurement());
        assertEquals(4, e.guestSvn());
        EndorsementVerdict v = EndorsementVerifier.verify(e, M, Instant.now(), List.of(new TrustedEndorser(org.did(), "acme-guest", 4)));
        assertTrue(v.endorsed(), v.summary());
        assertEquals(1, GuestEndorsements.lookup(home, M).size());

        // an explicit subject issuer works; one that does not resolve against the chain is refused before anything is written
        String root = org.did().substring(0, org.did().indexOf("::"));
        CliRun subject = run("guest", "endorse", "--key", key.toString(), "--chain", chain.toString(), "--feed", "acme-guest",
                "--measurement", "77".repeat(48), "--issuer", root + "::subject:CN:Test%20Release%20Signer", "-o", "json");
        assertEquals(0, subject.exit(), subject.out() + subject.err());
        CliRun wrong = run("guest", "endorse", "--key", key.toString(), "--chain", chain.toString(), "--feed", "acme-guest",
                "--measurement", "88".repeat(48), "--issuer", root + "::subject:CN:Someone%20Else");
        assertEquals(1, wrong.exit());
        assertTrue(wrong.err().contains("does not resolve against --chain") && wrong.err().contains("Someone Else"), wrong.err());
        assertEquals(0, GuestEndorsements.lookup(home, "88".repeat(48)).size());
    }

    @Test
    void badInputIsRefusedWithAPreciseMessageAndWritesNothing() throws Exception {
        TestEndorser org = TestEndorser.make("acme-guest", Instant.now().minusSeconds(3600), Instant.now().plusSeconds(86400));
        TestEndorser other = TestEndorser.make("acme-guest", Instant.now().minusSeconds(3600), Instant.now().plusSeconds(86400));
        Path key = work.resolve("k.pem"), chain = work.resolve("c.pem"), otherKey = work.resolve("ok.pem"), otherChain = work.resolve("oc.pem");
        org.writePem(key, chain);
        other.writePem(otherKey, otherChain);

        CliRun mismatch = run("guest", "endorse", "--key", otherKey.toString(), "--chain", chain.toString(), "--feed", "f", "--measurement", M);
        assertEquals(1, mismatch.exit());
        assertTrue(mismatch.err().contains("does not belong to the chain's first certificate"), mismatch.err());

        CliRun shortM = run("guest", "endorse", "--key", key.toString(), "--chain", chain.toString(), "--feed", "f", "--measurement", "abcd");
        assertEquals(2, shortM.exit());
        assertTrue(shortM.err().contains("96 hex digits"), shortM.err());

        CliRun noTarget = run("guest", "endorse", "--key", key.toString(), "--chain", chain.toString(), "--feed", "f");
        assertEquals(2, noTarget.exit());
        CliRun two = run("guest", "endorse", "--process", "--measurement", M);
        assertEquals(2, two.exit());
        CliRun keyOnly = run("guest", "endorse", "--key", key.toString(), "--measurement", M);
        assertEquals(2, keyOnly.exit());
        assertTrue(keyOnly.err().contains("--key and --chain go together"), keyOnly.err());
        CliRun noFeed = run("guest", "endorse", "--key", key.toString(), "--chain", chain.toString(), "--measurement", M);
        assertEquals(2, noFeed.exit());

        Path garbageKey = Files.writeString(work.resolve("garbage.key"), "not a key");
        CliRun gk = run("guest", "endorse", "--key", garbageKey.toString(), "--chain", chain.toString(), "--feed", "f", "--measurement", M);
        assertEquals(1, gk.exit());
        assertTrue(gk.err().contains("expected a PKCS#8 key"), gk.err());
        Path leafOnly = Files.writeString(work.resolve("leaf.pem"), TestEndorser.pem("CERTIFICATE", org.chain().getFirst().getEncoded()));
        CliRun lo = run("guest", "endorse", "--key", key.toString(), "--chain", leafOnly.toString(), "--feed", "f", "--measurement", M);
        assertEquals(1, lo.exit());
        assertTrue(lo.err().contains("expected the signing certificate followed by its CA"), lo.err());
        CliRun missing = run("guest", "endorse", "--key", key.toString(), "--chain", work.resolve("absent.pem").toString(), "--feed", "f", "--measurement", M);
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("does not exist"), missing.err());

        TestEndorser expired = TestEndorser.make("f", Instant.parse("2020-01-01T00:00:00Z"), Instant.parse("2021-01-01T00:00:00Z"));
        Path ek = work.resolve("ek.pem"), ec = work.resolve("ec.pem");
        expired.writePem(ek, ec);
        CliRun old = run("guest", "endorse", "--key", ek.toString(), "--chain", ec.toString(), "--feed", "f", "--measurement", M);
        assertEquals(1, old.exit());
        assertTrue(old.err().contains("would not verify") && old.err().contains("chain"), old.err());

        CliRun noGuest = run("guest", "endorse", "--microvm");
        assertEquals(1, noGuest.exit());
        assertTrue(noGuest.err().contains("coffer guest build"), noGuest.err());

        assertEquals(List.of(), GuestEndorsements.list(home), "nothing written by refused commands");
        CliRun empty = run("guest", "endorsements");
        assertEquals(0, empty.exit());
        assertTrue(empty.out().contains("no endorsements"), empty.out());

        // a damaged file is listed with its problem, not a stack trace
        Files.createDirectories(GuestEndorsements.dir(home));
        Files.write(GuestEndorsements.dir(home).resolve("measurement-x.cose"), new byte[]{(byte) 0xd2, (byte) 0x84});
        CliRun damaged = run("guest", "endorsements", "-o", "json");
        assertEquals(0, damaged.exit(), damaged.err());
        assertTrue(json(damaged).at("/endorsements/0/problem").asText().contains("truncated"), damaged.out());
    }
}
