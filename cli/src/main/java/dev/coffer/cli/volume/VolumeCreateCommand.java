package dev.coffer.cli.volume;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.volume.EncryptedVolume;
import dev.coffer.agent.volume.Luks2Header;
import dev.coffer.agent.volume.VolumeException;
import dev.coffer.agent.volume.VolumeIntegrity;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.cli.server.ServerEndpoint;
import dev.coffer.runtime.microvm.VolumeFormatVm;
import dev.coffer.server.client.ApiClientException;
import dev.coffer.server.client.CofferClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "create", mixinStandardHelpOptions = true,
        description = {"Create a LUKS2 volume file holding an empty ext4 file system, keyed by a fresh random 256-bit key",
                "that is imported into the vault as an exportable oct key under a release policy. The key is never printed.",
                "Volumes are authenticated (dm-integrity, HMAC-SHA256: a sector the host flips fails to read), which needs",
                "device-mapper; on a host without it the volume is formatted on the guest's kernel in a short-lived microVM",
                "(QEMU and 'coffer guest build' needed; the header it wrote is checked here). --integrity none makes a plain",
                "XTS volume instead. Prints the header digest that the group spec pins (encrypted.headerDigest)."},
        footer = {"", "Example:", "  coffer volume create data.img --size 64M --key data-key --policy release-policy.json",
                "", "The policy names the attestation service as authority, an endorsed guest and the group's HOST_DATA, e.g.",
                "  {\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"http://127.0.0.1:8400\",\"allOf\":[",
                "    {\"claim\":\"x-ms-attestation-type\",\"equals\":\"coffer-sim-sevsnpvm\"},",
                "    {\"claim\":\"x-ms-compliance-status\",\"equals\":\"coffer-compliant-guest\"},",
                "    {\"claim\":\"x-ms-sevsnpvm-hostdata\",\"equals\":\"<sha256 of the group policy>\"},",
                "    {\"claim\":\"x-ms-sevsnpvm-is-debuggable\",\"equals\":false}]}]}",
                "(hardware guests: sevsnpvm; Azure's UVMs: azure-compliant-uvm). Host data alone is not enough: the host chooses it."})
public final class VolumeCreateCommand implements Runnable {
    private static final Pattern SIZE = Pattern.compile("(\\d+)([KMGT]?)(i?B)?", Pattern.CASE_INSENSITIVE);

    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The volume file to create (must not exist).")
    Path file;

    @Option(names = "--size", paramLabel = "SIZE", required = true, description = "Size of the file, e.g. 64M, 1G (binary units; minimum 32M).")
    String size;

    @Option(names = "--key", paramLabel = "NAME", required = true, description = "Name of the new vault key (letters, digits, dashes).")
    String keyName;

    @Option(names = "--policy", paramLabel = "FILE", required = true,
            description = "Release policy (JSON, Azure Key Vault grammar): the only way a group can get the key.")
    Path policy;

    @Option(names = "--integrity", paramLabel = "MODE", defaultValue = "hmac-sha256",
            description = "hmac-sha256 (default: authenticated sectors) or none (plain XTS; the spec must then say integrity: none).")
    String integrity;

    @Option(names = "--immutable", description = "The release policy can never be changed.")
    boolean immutable;

    @Option(names = "--server", paramLabel = "URL", description = "Key vault URL (default: the running 'coffer server' of this Coffer home).")
    String server;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Admin token (default: $COFFER_ADMIN_TOKEN or $COFFER_HOME/server/admin-token).")
    String token;

    @Override
    public void run() {
        long bytes = parseSize(size);
        VolumeIntegrity mode;
        try {
            mode = VolumeIntegrity.of(integrity);
        } catch (VolumeException e) {
            throw new UsageException("--integrity: " + e.getMessage());
        }
        if (!keyName.matches("[A-Za-z0-9-]{1,127}")) {
            throw new UsageException("--key '" + keyName + "' must be 1-127 letters, digits or dashes");
        }
        JsonNode policyJson = readPolicy(policy);
        if (Files.exists(file)) throw new CofferException(file + " already exists; choose a new file name (volumes are never overwritten)");
        Path home = server != null && token != null ? null : CofferHome.resolve();
        CofferClient client = new CofferClient(server != null ? server : ServerEndpoint.url(home),
                token != null ? token : ServerEndpoint.adminToken(home), ServerEndpoint.trust(CofferHome.resolve(), null, null));
        // Refuse before the (slow) volume work when the vault is unreachable or the name is taken.
        try {
            client.get("/keys/" + keyName);
            throw new CofferException("vault key '" + keyName + "' already exists at " + client.baseUrl()
                    + "; choose another --key (a volume gets a key of its own)");
        } catch (ApiClientException e) {
            if (!"key_not_found".equals(e.code())) throw new CofferException(e.getMessage() + " [" + e.code() + "]");
        }
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        JsonNode created;
        try {
            try {
                makeVolume(bytes, key, mode);
            } catch (VolumeException e) {
                throw new CofferException(e.getMessage());
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("key", Map.of("kty", "oct", "k", Base64.getUrlEncoder().withoutPadding().encodeToString(key)));
            body.put("exportable", true);
            body.put("release_policy", policyJson);
            body.put("immutable", immutable);
            try {
                created = client.put("/keys/" + keyName, body);
            } catch (ApiClientException e) {
                // A volume whose key the vault did not take can never be opened: do not leave it behind.
                deleteQuietly(file);
                throw new CofferException("the vault refused key '" + keyName + "', so " + file + " was removed again: " + e.getMessage()
                        + " [" + e.code() + "]");
            }
        } finally {
            Arrays.fill(key, (byte) 0);
        }
        EncryptedVolume.Info info = EncryptedVolume.inspect(file);
        // the digest printed is of a header that passes the agent's own check
        Luks2Header header = Luks2Header.read(file);
        header.requireCofferShape(mode, null);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("file", file.toAbsolutePath().toString());
        result.put("size", fileSize(file));
        result.put("format", "LUKS" + info.version());
        result.put("cipher", info.cipher());
        result.put("sector_size", info.sectorSize());
        result.put("pbkdf", info.pbkdf());
        result.put("integrity", mode.id());
        result.put("header_digest", header.digest());
        result.put("filesystem", "ext4");
        result.put("key", keyName);
        result.put("key_version", created.path("version").asText());
        result.put("vault", client.baseUrl());
        if (output.json()) {
            Json.print(out, result);
        } else {
            out.println("created " + result.get("file") + " (" + (fileSize(file) >> 20) + " MiB, LUKS" + info.version() + " " + info.cipher()
                    + (mode == VolumeIntegrity.NONE ? " without integrity" : " with " + mode.id() + " integrity") + ", "
                    + info.sectorSize() + "-byte sectors, " + info.pbkdf() + ", ext4)");
            out.println("header  header_digest " + header.digest() + " (put it in the spec: encrypted.headerDigest"
                    + (mode == VolumeIntegrity.NONE ? ", with integrity: none" : "") + ")");
            out.println("key     vault key '" + keyName + "' version " + result.get("key_version") + " at " + client.baseUrl()
                    + ", released only under its policy");
            out.flush();
        }
    }

    /**
     * Formats the volume here where this host can (device-mapper with dm-integrity, or a plain XTS
     * volume, which needs none); an authenticated volume on a host without device-mapper is formatted
     * on the guest's kernel in a short-lived microVM ({@link VolumeFormatVm}), and its header is then
     * checked here as the agent checks it, against the digest the guest answered, and the key against
     * its keyslot. Either way the file is removed again on failure.
     */
    private void makeVolume(long bytes, byte[] key, VolumeIntegrity mode) {
        String noDeviceMapper = mode == VolumeIntegrity.NONE ? null : EncryptedVolume.unavailableReason();
        if (noDeviceMapper == null) {
            EncryptedVolume.create(file, bytes, key, mode);
            return;
        }
        Path home = CofferHome.resolve();
        Path guest = home.resolve("guest");
        String noVm = VolumeFormatVm.unavailableReason(guest);
        if (noVm != null) {
            throw new CofferException("creating an authenticated volume (integrity " + mode.id() + ") needs device-mapper with dm-integrity"
                    + " here or a microVM to format it in, and this host has neither: " + noDeviceMapper.replaceFirst("^dm-crypt is unavailable: ", "")
                    + "; " + noVm + ". Install QEMU and build the guest, use a host with dm_integrity and dm_crypt, or ask for a plain XTS"
                    + " volume (--integrity none), which the policy must then allow explicitly");
        }
        PrintWriter err = spec.commandLine().getErr();
        err.println("coffer: this host has no device-mapper; formatting in a short-lived microVM of the guest in " + guest);
        err.flush();
        EncryptedVolume.createEmptyImage(file, bytes);
        boolean done = false;
        try {
            dev.coffer.agent.protocol.Result.VolumeFormatted formatted = VolumeFormatVm.format(guest, home.resolve("volume-format"), file, key,
                    mode.id(), null, step -> {
                        err.println("coffer: " + step);
                        err.flush();
                    });
            // trust nothing the VM said: the header on disk must be the shape and the digest it answered, and the key must open it
            Luks2Header header = Luks2Header.read(file);
            header.requireCofferShape(mode, formatted.headerDigest());
            EncryptedVolume.checkKey(file, key);
            done = true;
        } catch (IOException e) {
            throw new CofferException("cannot format " + file + " in a microVM: " + e.getMessage());
        } finally {
            if (!done) deleteQuietly(file);
        }
    }

    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) throw new UsageException("--size '" + text + "' is not a size; use e.g. 64M, 512M or 1G");
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new UsageException("--size '" + text + "' is too large");
        }
        int shift = switch (m.group(2).toUpperCase()) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> shift)) throw new UsageException("--size '" + text + "' is too large");
        long bytes = n << shift;
        if (bytes < EncryptedVolume.MIN_SIZE) {
            throw new UsageException("--size " + text + " is below the minimum of " + (EncryptedVolume.MIN_SIZE >> 20)
                    + "M (the LUKS2 header alone takes 16M)");
        }
        return bytes;
    }

    private static JsonNode readPolicy(Path p) {
        try {
            JsonNode n = Json.MAPPER.readTree(Files.readAllBytes(p));
            if (n == null || !n.isObject()) throw new UsageException("release policy file " + p + " must hold a JSON object");
            return n;
        } catch (NoSuchFileException e) {
            throw new UsageException("release policy file " + p + " does not exist");
        } catch (IOException e) {
            throw new UsageException("release policy file " + p + " is not valid JSON: " + e.getMessage().split("\n")[0]);
        }
    }

    private static long fileSize(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // the error already names the file
        }
    }
}
