package dev.coffer.policy.enforce;

import dev.coffer.policy.enforce.EnforcementRequest.CreateContainer;
import dev.coffer.policy.enforce.EnforcementRequest.IdName;
import dev.coffer.policy.enforce.EnforcementRequest.Mount;
import dev.coffer.policy.enforce.EnforcementRequest.MountEncryptedVolume;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The policy pins encrypted volumes, and a hostile host cannot open other ones or skip opening them. */
class EncryptedVolumeEnforcementTest {
    static final String LAYER = "4".repeat(64);
    static final String VAULT = "http://127.0.0.1:8443";
    static final String SANDBOX = EnforcerOptions.DEFAULT_SANDBOX_DIR;
    static final String DIGEST = "5e".repeat(32);
    static final String AUTHENTICATED = "hmac-sha256";

    static String spec(String source, String key, String mountPath, boolean readOnly) {
        return """
                name: keeper
                containers:
                  - name: app
                    image: app:1
                    volumeMounts:
                      - {name: secrets, mountPath: %s, readOnly: %s}
                      - {name: scratch, mountPath: /tmp/scratch}
                volumes:
                  - name: secrets
                    encrypted: {source: %s, key: %s, authority: "%s", vault: "%s", readOnly: %s, headerDigest: %s}
                  - {name: scratch, emptyDir: {}}
                """.formatted(mountPath, readOnly, source, key, VAULT, VAULT, readOnly, DIGEST);
    }

    static GeneratedPolicy generate(String spec) throws Exception {
        return new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(LAYER), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "0")).generate(GroupPolicyInput.parse(spec, "keeper.yaml"), false);
    }

    static final String HONEST_SPEC = spec("secrets.img", "secrets-key", "/secrets", false);

    static MountEncryptedVolume honest() {
        return new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", VAULT, VAULT, false, DIGEST, AUTHENTICATED);
    }

    static CreateContainer create(String secretsDestination) {
        List<Mount> mounts = List.of(
                new Mount(secretsDestination, SANDBOX + "/encrypted/secrets", "bind", List.of("rbind", "rshared", "rw")),
                new Mount("/tmp/scratch", SANDBOX + "/volumes/scratch", "bind", List.of("rbind", "rshared", "rw")));
        List<String> caps = dev.coffer.policy.gen.DefaultCapabilities.UNPRIVILEGED;
        return new CreateContainer("app", List.of("/bin/app"), List.of("PATH=/bin"), "/", mounts, false, false,
                new IdName("0", "root"), List.of(new IdName("0", "root")), "0022",
                new EnforcementRequest.Capabilities(caps, caps, List.of(), caps, List.of()), "", List.of());
    }

    static PolicyEnforcer withOverlay(String policy) {
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        e.commit(e.decide(new EnforcementRequest.MountDevice("/run/coffer/layers/l", LAYER)));
        e.commit(e.decide(new EnforcementRequest.MountOverlay("app", List.of("/run/coffer/layers/l"), "/run/coffer/rootfs/app")));
        return e;
    }

    @Test
    void thePolicyPinsEveryPropertyOfTheVolume() throws Exception {
        GeneratedPolicy base = generate(HONEST_SPEC);
        assertTrue(base.text().contains("encrypted_volumes := ["), base.text());
        assertTrue(base.text().contains("mount_encrypted_volume := data.framework.mount_encrypted_volume"));
        assertTrue(base.text().contains("\"source\": \"sandbox:///encrypted/secrets\""), base.text());
        for (String changed : List.of(spec("other.img", "secrets-key", "/secrets", false),
                spec("secrets.img", "other-key", "/secrets", false),
                spec("secrets.img", "secrets-key", "/elsewhere", false),
                spec("secrets.img", "secrets-key", "/secrets", true),
                HONEST_SPEC.replace("authority: \"" + VAULT, "authority: \"http://127.0.0.1:9999"),
                HONEST_SPEC.replace(DIGEST, "6f".repeat(32)))) {
            assertNotEquals(base.sha256(), generate(changed).sha256(), changed);
        }
    }

    @Test
    void policiesWithoutEncryptedVolumesDoNotMentionThem() throws Exception {
        String text = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(LAYER), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "0")).generate(GroupPolicyInput.parse("""
                name: plain
                containers: [{name: app, image: app:1}]
                """, "p.yaml"), false).text();
        assertFalse(text.contains("encrypted_volume"), text);
        Decision d = PolicyEnforcer.load(text).decide(honest());
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("mount_encrypted_volume"), d.reason());
    }

    @Test
    void honestHostOpensTheVolumeOnceThenMountsIt() throws Exception {
        PolicyEnforcer e = withOverlay(generate(HONEST_SPEC).text());
        Decision open = e.decide(honest());
        assertTrue(open.allowed(), open.reason());
        e.commit(open);
        assertTrue(e.state().path("encrypted_volumes").has("secrets"));
        Decision again = e.decide(honest());
        assertFalse(again.allowed());
        assertTrue(again.reason().contains("already open"), again.reason());
        Decision created = e.decide(create("/secrets"));
        assertTrue(created.allowed(), created.reason());
    }

    @Test
    void hostileRequestsAreDeniedAndChangeNothing() throws Exception {
        PolicyEnforcer e = withOverlay(generate(HONEST_SPEC).text());
        List<MountEncryptedVolume> hostile = List.of(
                new MountEncryptedVolume("undeclared", "secrets.img", "secrets-key", VAULT, VAULT, false, DIGEST, AUTHENTICATED),
                new MountEncryptedVolume("secrets", "secrets.img", "another-key", VAULT, VAULT, false, DIGEST, AUTHENTICATED),
                new MountEncryptedVolume("secrets", "/host/other.img", "secrets-key", VAULT, VAULT, false, DIGEST, AUTHENTICATED),
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", "http://evil.example", VAULT, false, DIGEST, AUTHENTICATED),
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", VAULT, "http://evil.example", false, DIGEST, AUTHENTICATED),
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", VAULT, VAULT, true, DIGEST, AUTHENTICATED),
                // another header (say, the null-cipher edit of the genuine one) or plain XTS where the policy pins integrity
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", VAULT, VAULT, false, "00".repeat(32), AUTHENTICATED),
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", VAULT, VAULT, false, DIGEST, "none"),
                // the empty strings the framework once took as "the runtime's choice"
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", "", "", false, DIGEST, AUTHENTICATED));
        long version = e.state().toString().hashCode();
        for (MountEncryptedVolume h : hostile) {
            Decision d = e.decide(h);
            assertFalse(d.allowed(), h.toString());
            assertTrue(d.reason().contains(h.name().equals("undeclared") ? "not listed in the policy" : "differ from the policy"),
                    d.reason());
        }
        assertEquals(version, e.state().toString().hashCode());
        assertEquals(0, e.state().path("encrypted_volumes").size());
    }

    @Test
    void containersCannotMountTheVolumeBeforeItIsOpenOrElsewhere() throws Exception {
        PolicyEnforcer e = withOverlay(generate(HONEST_SPEC).text());
        Decision early = e.decide(create("/secrets"));
        assertFalse(early.allowed());
        assertTrue(early.reason().contains("encrypted volume that is not open"), early.reason());
        e.commit(e.decide(honest()));
        Decision elsewhere = e.decide(create("/other"));
        assertFalse(elsewhere.allowed());
        assertTrue(elsewhere.reason().contains("mount"), elsewhere.reason());
    }

    /** A hand-written policy with "" endpoints or digest (what generated policies once held) pins them to "": nothing matches. */
    @Test
    void emptyPinsAreNoWildcard() throws Exception {
        String policy = generate(HONEST_SPEC).text().replace("\"" + VAULT + "\"", "\"\"").replace("\"" + DIGEST + "\"", "\"\"");
        assertTrue(policy.contains("\"authority\": \"\""), policy);
        PolicyEnforcer e = withOverlay(policy);
        for (MountEncryptedVolume r : List.of(honest(),
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", "http://127.0.0.1:1234", "http://127.0.0.1:1234",
                        false, DIGEST, AUTHENTICATED),
                new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", "", "", false, "", AUTHENTICATED))) {
            Decision d = e.decide(r);
            assertFalse(d.allowed(), r.toString());
            assertTrue(d.reason().contains("differ from the policy"), d.reason());
        }
    }

    @Test
    void policyGenRefusesAVolumeWithoutEndpoints() {
        String noEndpoints = HONEST_SPEC.replace(", authority: \"" + VAULT + "\", vault: \"" + VAULT + "\"", "");
        dev.coffer.policy.spec.SpecException e = org.junit.jupiter.api.Assertions.assertThrows(dev.coffer.policy.spec.SpecException.class,
                () -> generate(noEndpoints));
        assertTrue(e.getMessage().contains("volumes[0].encrypted.authority"), e.getMessage());
    }

    @Test
    void thePolicyPinsHeaderDigestAndIntegrity() throws Exception {
        String text = generate(HONEST_SPEC).text();
        assertTrue(text.contains("\"header_digest\": \"" + DIGEST + "\""), text);
        assertTrue(text.contains("\"integrity\": \"hmac-sha256\""), text);
        String plain = HONEST_SPEC.replace("headerDigest: " + DIGEST, "headerDigest: " + DIGEST + ", integrity: none");
        assertNotEquals(generate(HONEST_SPEC).sha256(), generate(plain).sha256());
        PolicyEnforcer e = withOverlay(generate(plain).text());
        assertFalse(e.decide(honest()).allowed());
        assertTrue(e.decide(new MountEncryptedVolume("secrets", "secrets.img", "secrets-key", VAULT, VAULT, false, DIGEST, "none")).allowed());
    }

    @Test
    void theRequestRoundTripsThroughTheCodec() {
        EnforcementRequest r = RequestCodec.fromJson(RequestCodec.toJson(honest()));
        assertEquals(honest(), r);
    }
    /**
     * A hostile host asks a group's sandbox to format its volume disk: generated policies never bind
     * format_encrypted_volume and the framework denies it, with encrypted volumes declared or not,
     * before or after the volume is open.
     */
    @Test
    void aGroupsPolicyNeverAllowsFormatting() throws Exception {
        GeneratedPolicy withVolume = generate(HONEST_SPEC);
        assertFalse(withVolume.text().contains("format_encrypted_volume"), "policy gen binds no format rule");
        PolicyEnforcer e = withOverlay(withVolume.text());
        for (String integrity : List.of(AUTHENTICATED, "none")) {
            Decision before = e.decide(new EnforcementRequest.FormatEncryptedVolume(integrity));
            assertFalse(before.allowed(), before.toString());
            assertTrue(before.reason().toString().contains("never a group's"), before.reason().toString());
        }
        e.commit(e.decide(honest()));
        assertFalse(e.decide(new EnforcementRequest.FormatEncryptedVolume(AUTHENTICATED)).allowed(), "not after the volume is open either");
        String noVolumes = HONEST_SPEC.substring(0, HONEST_SPEC.indexOf("volumes:")).replaceAll("(?s)    volumeMounts:.*", "");
        Decision plain = PolicyEnforcer.load(generate(noVolumes).text()).decide(new EnforcementRequest.FormatEncryptedVolume(AUTHENTICATED));
        assertFalse(plain.allowed(), plain.toString());
    }
}
