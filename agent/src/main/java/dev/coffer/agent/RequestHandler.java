package dev.coffer.agent;

import dev.coffer.agent.container.AgentException;
import dev.coffer.agent.container.ContainerService;
import dev.coffer.agent.enforce.Enforcer;
import dev.coffer.agent.protocol.Protocol;
import dev.coffer.agent.protocol.ProtocolException;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.RequestEnvelope;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;

import dev.coffer.agent.skr.Evidence;
import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.agent.tee.HostChallenge;

import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The single seam every host request passes: decode, ask the {@link Enforcer}, then act; commit
 * the decision's policy state once the action succeeded, roll it back when it failed. No request
 * reaches the container service without a decision, and a request that cannot be decoded or is
 * denied changes nothing. Transport-agnostic: it sees frame bodies, not sockets.
 */
public final class RequestHandler {
    public static final String AGENT_VERSION = "0.1.0";

    private final Enforcer enforcer;
    private final ContainerService service;
    private final EvidenceSource tee;
    private final Integer skrPort;
    private final AtomicBoolean shutdown = new AtomicBoolean();

    /** A sandbox without a TEE: get_report is refused. */
    public RequestHandler(Enforcer enforcer, ContainerService service) {
        this(enforcer, service, null, null);
    }

    /**
     * @param tee the sandbox's evidence source, or null without a TEE
     * @param skrPort the port of the SKR API the agent serves in the group, or null
     */
    public RequestHandler(Enforcer enforcer, ContainerService service, EvidenceSource tee, Integer skrPort) {
        this.enforcer = enforcer;
        this.service = service;
        this.tee = tee;
        this.skrPort = skrPort;
    }

    /** Handles one frame body; never throws, every failure becomes an error response. */
    public Response handle(byte[] frameBody) {
        RequestEnvelope envelope;
        try {
            envelope = Protocol.decodeRequest(frameBody);
        } catch (ProtocolException e) {
            return Response.error(e.id(), new Response.Failure(e.code(), e.getMessage()));
        }
        return handle(envelope);
    }

    public Response handle(RequestEnvelope envelope) {
        long id = envelope.id();
        Request request = envelope.request();
        if (request == null) {
            return Response.error(id, new Response.Failure(Response.Failure.INVALID_REQUEST, "expected a request, found null"));
        }
        if (shutdown.get()) {
            return Response.error(id, new Response.Failure(Response.Failure.CONFLICT,
                    "expected a running sandbox, found it shut down; start a new one"));
        }
        Enforcer.Verdict verdict;
        try {
            verdict = enforcer.decide(request, service);
        } catch (AgentException e) {
            return Response.error(id, new Response.Failure(e.code(), e.getMessage()));
        } catch (RuntimeException e) {
            // an enforcer that fails must fail closed
            return Response.error(id, new Response.Failure(Response.Failure.DENIED,
                    "policy evaluation of " + request.enforcementPoint() + " failed (" + e.getMessage() + "); request refused"));
        }
        if (!verdict.allowed()) {
            return Response.error(id, new Response.Failure(Response.Failure.DENIED, verdict.denial()));
        }
        Result result;
        try {
            result = dispatch(verdict);
        } catch (AgentException e) {
            enforcer.rollback(verdict);
            return Response.error(id, new Response.Failure(e.code(), e.getMessage()));
        } catch (RuntimeException e) {
            enforcer.rollback(verdict);
            return Response.error(id, new Response.Failure(Response.Failure.FAILED,
                    request.enforcementPoint() + " failed: " + e));
        }
        try {
            enforcer.commit(verdict);
        } catch (IllegalStateException e) {
            // the operation happened but conflicts with a concurrent one the policy state already records
            return Response.error(id, new Response.Failure(Response.Failure.CONFLICT, e.getMessage()));
        }
        return Response.ok(id, result);
    }

    private Result dispatch(Enforcer.Verdict verdict) {
        return switch (verdict.request()) {
            case Request.Ping p -> new Result.Done();
            case Request.GetProperties p -> new Result.Properties(AGENT_VERSION, Protocol.VERSION,
                    ProcessHandle.current().pid(), enforcer.name(), service.runtime().describe(),
                    service.networkNamespace(), service.statuses(), enforcer.policySha256(), enforcer.debuggable(),
                    service.layerVerification(), tee == null ? "none" : tee.tee(), skrPort);
            case Request.MountDevice r -> service.mountDevice(r);
            case Request.UnmountDevice r -> service.unmountDevice(r);
            case Request.MountOverlay r -> service.mountOverlay(r);
            case Request.UnmountOverlay r -> service.unmountOverlay(r);
            // the capabilities the decision returned, never the host's list
            case Request.CreateContainer r -> service.createContainer(r, Enforcer.capabilities(verdict),
                    Enforcer.limits(verdict));
            case Request.StartContainer r -> service.startContainer(r);
            // a process's output reaches the host only where the container's committed create allowed stdio access
            case Request.ExecInContainer r -> service.execInContainer(r, enforcer.stdioAccess(r.containerID()));
            case Request.WriteExecStdin r -> service.writeExecStdin(r);
            case Request.ReadExecOutput r -> service.readExecOutput(r);
            case Request.SignalContainerProcess r -> service.signal(r);
            case Request.WaitContainer r -> service.waitContainer(r);
            case Request.ReadLogs r -> service.readLogs(r);
            case Request.ReadDecisionLog r -> service.readFileChunk(service.stateDir().resolve(AgentMain.DECISION_LOG),
                    r.offset(), r.maxBytes());
            case Request.ShutdownContainer r -> service.shutdownContainer(r);
            case Request.GetReport r -> report(r);
            case Request.MountEncryptedVolume r -> service.mountEncryptedVolume(r, tee);
            case Request.ScratchMount r -> service.scratchMount(r);
            case Request.FormatEncryptedVolume r -> service.formatEncryptedVolume(r);
            case Request.ShutdownSandbox r -> {
                service.shutdownAll(r.graceMillis());
                shutdown.set(true);
                yield new Result.Done();
            }
        };
    }

    private Result.Report report(Request.GetReport r) {
        if (tee == null) {
            throw new AgentException(Response.Failure.FAILED, "expected a sandbox with a TEE for get_report, found one launched with --tee none;"
                    + " run the group with --tee sim to attest it");
        }
        byte[] nonce;
        try {
            if (r.nonceHex() == null || r.nonceHex().isEmpty()) throw new IllegalArgumentException("none");
            nonce = HexFormat.of().parseHex(r.nonceHex());
        } catch (IllegalArgumentException e) {
            throw AgentException.invalidRequest("expected nonceHex of 2..64 hex digits, found "
                    + (r.nonceHex() == null || r.nonceHex().isEmpty() ? "none" : "\"" + abbreviate(r.nonceHex()) + "\""));
        }
        byte[] reportData;
        try {
            reportData = HostChallenge.reportData(nonce);
        } catch (IllegalArgumentException e) {
            throw AgentException.invalidRequest(e.getMessage());
        }
        Evidence evidence = tee.evidence(reportData);
        return new Result.Report(tee.tee(), HexFormat.of().formatHex(evidence.report()), evidence.certChainPem());
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    /** True once shutdown_sandbox succeeded: the transport stops and the agent exits. */
    public boolean shutdownRequested() {
        return shutdown.get();
    }
}
