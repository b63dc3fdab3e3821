package dev.coffer.server.store;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The key-encryption key (KEK) that seals every key's material at rest with AES-256-GCM. The
 * additional data binds a ciphertext to its key name and version, so rows cannot be swapped
 * in the database. {@link #id()} is a public fingerprint that lets a wrong KEK be diagnosed
 * without revealing anything about it. {@link #toString()} never shows the key.
 */
public final class KeyEncryptionKey {
    public static final String ENV = "COFFER_KEK";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretKeySpec key;
    private final String id;

    private KeyEncryptionKey(byte[] raw) {
        if (raw.length != 32) {
            throw new IllegalArgumentException("the key-encryption key must be 32 bytes (AES-256), found " + raw.length
                    + " bytes; generate one with: head -c 32 /dev/urandom | base64");
        }
        this.key = new SecretKeySpec(raw, "AES");
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update("coffer-kek-id".getBytes(StandardCharsets.US_ASCII));
            this.id = HexFormat.of().formatHex(Arrays.copyOf(d.digest(raw), 8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        Arrays.fill(raw, (byte) 0);
    }

    public static KeyEncryptionKey of(byte[] raw) {
        return new KeyEncryptionKey(raw.clone());
    }

    /** Parses the text form: base64 (standard or url-safe) or hex of 32 bytes. */
    public static KeyEncryptionKey parse(String text, String source) {
        String t = text.strip();
        byte[] raw = null;
        if (t.matches("[0-9a-fA-F]{64}")) {
            raw = HexFormat.of().parseHex(t);
        } else {
            try {
                raw = Base64.getDecoder().decode(t);
            } catch (IllegalArgumentException e) {
                try {
                    raw = Base64.getUrlDecoder().decode(t);
                } catch (IllegalArgumentException e2) {
                    // fall through to the error below
                }
            }
        }
        if (raw == null || raw.length != 32) {
            throw new IllegalArgumentException("the key-encryption key from " + source
                    + " is not 32 bytes in base64 or hex; generate one with: head -c 32 /dev/urandom | base64");
        }
        return new KeyEncryptionKey(raw);
    }

    /** Reads a KEK file: 32 raw bytes, or base64/hex text. */
    public static KeyEncryptionKey fromFile(Path file) throws IOException {
        byte[] content = Files.readAllBytes(file);
        try {
            if (content.length == 32) return new KeyEncryptionKey(content);
            return parse(new String(content, StandardCharsets.US_ASCII), file.toString());
        } finally {
            Arrays.fill(content, (byte) 0);
        }
    }

    /** A fresh random KEK written to {@code file} (mode 0600, base64). */
    public static KeyEncryptionKey generate(Path file) {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        dev.coffer.server.token.SigningKeyRing.writePrivateFile(file,
                (Base64.getEncoder().encodeToString(raw) + "\n").getBytes(StandardCharsets.US_ASCII));
        return new KeyEncryptionKey(raw);
    }

    public String id() {
        return id;
    }

    byte[] seal(String name, String version, byte[] plaintext) {
        return seal(aad(name, version), plaintext);
    }

    byte[] open(String name, String version, byte[] sealed) throws AEADBadTagException {
        return open(aad(name, version), sealed);
    }

    /**
     * Token-signing keys are sealed in their own domain (bound to their key id), so no vault
     * key row can be passed off as a signing key or the other way round.
     */
    byte[] sealSigningKey(String kid, byte[] plaintext) {
        return seal(signingAad(kid), plaintext);
    }

    byte[] openSigningKey(String kid, byte[] sealed) throws AEADBadTagException {
        return open(signingAad(kid), sealed);
    }

    private static byte[] signingAad(String kid) {
        return ("coffer-token-signing-key:" + kid).getBytes(StandardCharsets.UTF_8);
    }

    private byte[] seal(byte[] aad, byte[] plaintext) {
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
            c.updateAAD(aad);
            byte[] ct = c.doFinal(plaintext);
            byte[] out = Arrays.copyOf(nonce, 12 + ct.length);
            System.arraycopy(ct, 0, out, 12, ct.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    private byte[] open(byte[] aad, byte[] sealed) throws AEADBadTagException {
        if (sealed.length < 12 + 16) throw new AEADBadTagException("sealed value too short");
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, sealed, 0, 12));
            c.updateAAD(aad);
            return c.doFinal(sealed, 12, sealed.length - 12);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM decryption failed", e);
        }
    }

    private static byte[] aad(String name, String version) {
        return ("coffer-key:" + name + "/" + version).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "KeyEncryptionKey[id=" + id + "]";
    }
}
