package dev.coffer.shim.cri;

import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A CRI v1 client as the kubelet is one: gRPC over containerd's unix socket, the RuntimeService
 * and ImageService calls the tests make. The method descriptors are written here (full method
 * name, request and response marshallers) rather than generated, which is all a unary gRPC stub is.
 * A failed call throws {@link io.grpc.StatusRuntimeException} with containerd's status and message.
 */
public final class CriClient implements AutoCloseable {
    private static final String RUNTIME = "runtime.v1.RuntimeService";
    private static final String IMAGES = "runtime.v1.ImageService";

    /**
     * netty's bootstrap warns (through java.util.logging, on stderr) that a unix socket has no SO_KEEPALIVE,
     * the option gRPC sets for TCP: noise in a CLI's output. Held here because JUL keeps loggers
     * only weakly, and a collected logger would forget its level.
     */
    private static final java.util.logging.Logger BOOTSTRAP_LOG = quiet("io.grpc.netty.shaded.io.netty.bootstrap");

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        logger.setLevel(java.util.logging.Level.SEVERE);
        return logger;
    }

    private final EpollEventLoopGroup loop = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;
    private final long deadlineSeconds;

    public CriClient(Path socket, long deadlineSeconds) {
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(loop).channelType(EpollDomainSocketChannel.class).usePlaintext()
                .maxInboundMessageSize(16 << 20).build();
        this.deadlineSeconds = deadlineSeconds;
    }

    private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> unary(String service, String method, Q request, R response) {
        return MethodDescriptor.<Q, R>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(service, method))
                .setRequestMarshaller(ProtoUtils.marshaller(request)).setResponseMarshaller(ProtoUtils.marshaller(response)).build();
    }

    private static final MethodDescriptor<Cri.VersionRequest, Cri.VersionResponse> VERSION =
            unary(RUNTIME, "Version", Cri.VersionRequest.getDefaultInstance(), Cri.VersionResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.RunPodSandboxRequest, Cri.RunPodSandboxResponse> RUN_POD =
            unary(RUNTIME, "RunPodSandbox", Cri.RunPodSandboxRequest.getDefaultInstance(), Cri.RunPodSandboxResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.StopPodSandboxRequest, Cri.StopPodSandboxResponse> STOP_POD =
            unary(RUNTIME, "StopPodSandbox", Cri.StopPodSandboxRequest.getDefaultInstance(), Cri.StopPodSandboxResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.RemovePodSandboxRequest, Cri.RemovePodSandboxResponse> REMOVE_POD =
            unary(RUNTIME, "RemovePodSandbox", Cri.RemovePodSandboxRequest.getDefaultInstance(), Cri.RemovePodSandboxResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.PodSandboxStatusRequest, Cri.PodSandboxStatusResponse> POD_STATUS =
            unary(RUNTIME, "PodSandboxStatus", Cri.PodSandboxStatusRequest.getDefaultInstance(), Cri.PodSandboxStatusResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.CreateContainerRequest, Cri.CreateContainerResponse> CREATE =
            unary(RUNTIME, "CreateContainer", Cri.CreateContainerRequest.getDefaultInstance(), Cri.CreateContainerResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.StartContainerRequest, Cri.StartContainerResponse> START =
            unary(RUNTIME, "StartContainer", Cri.StartContainerRequest.getDefaultInstance(), Cri.StartContainerResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.StopContainerRequest, Cri.StopContainerResponse> STOP =
            unary(RUNTIME, "StopContainer", Cri.StopContainerRequest.getDefaultInstance(), Cri.StopContainerResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.RemoveContainerRequest, Cri.RemoveContainerResponse> REMOVE =
            unary(RUNTIME, "RemoveContainer", Cri.RemoveContainerRequest.getDefaultInstance(), Cri.RemoveContainerResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.ContainerStatusRequest, Cri.ContainerStatusResponse> STATUS =
            unary(RUNTIME, "ContainerStatus", Cri.ContainerStatusRequest.getDefaultInstance(), Cri.ContainerStatusResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.ExecSyncRequest, Cri.ExecSyncResponse> EXEC_SYNC =
            unary(RUNTIME, "ExecSync", Cri.ExecSyncRequest.getDefaultInstance(), Cri.ExecSyncResponse.getDefaultInstance());
    private static final MethodDescriptor<Cri.ImageStatusRequest, Cri.ImageStatusResponse> IMAGE_STATUS =
            unary(IMAGES, "ImageStatus", Cri.ImageStatusRequest.getDefaultInstance(), Cri.ImageStatusResponse.getDefaultInstance());

    private <Q, R> R call(MethodDescriptor<Q, R> method, Q request) {
        return ClientCalls.blockingUnaryCall(channel, method,
                CallOptions.DEFAULT.withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS), request);
    }

    public Cri.VersionResponse version() {
        return call(VERSION, Cri.VersionRequest.newBuilder().setVersion("v1").build());
    }

    public String runPodSandbox(Cri.PodSandboxConfig config, String runtimeHandler) {
        return call(RUN_POD, Cri.RunPodSandboxRequest.newBuilder().setConfig(config).setRuntimeHandler(runtimeHandler).build())
                .getPodSandboxId();
    }

    public void stopPodSandbox(String id) {
        call(STOP_POD, Cri.StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
    }

    public void removePodSandbox(String id) {
        call(REMOVE_POD, Cri.RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
    }

    public Cri.PodSandboxStatus podSandboxStatus(String id) {
        return call(POD_STATUS, Cri.PodSandboxStatusRequest.newBuilder().setPodSandboxId(id).build()).getStatus();
    }

    public String createContainer(String podId, Cri.ContainerConfig config, Cri.PodSandboxConfig sandboxConfig) {
        return call(CREATE, Cri.CreateContainerRequest.newBuilder().setPodSandboxId(podId).setConfig(config)
                .setSandboxConfig(sandboxConfig).build()).getContainerId();
    }

    public void startContainer(String id) {
        call(START, Cri.StartContainerRequest.newBuilder().setContainerId(id).build());
    }

    public void stopContainer(String id, long timeoutSeconds) {
        call(STOP, Cri.StopContainerRequest.newBuilder().setContainerId(id).setTimeout(timeoutSeconds).build());
    }

    public void removeContainer(String id) {
        call(REMOVE, Cri.RemoveContainerRequest.newBuilder().setContainerId(id).build());
    }

    public Cri.ContainerStatus containerStatus(String id) {
        return call(STATUS, Cri.ContainerStatusRequest.newBuilder().setContainerId(id).build()).getStatus();
    }

    public Cri.ExecSyncResponse execSync(String id, java.util.List<String> cmd, long timeoutSeconds) {
        return call(EXEC_SYNC, Cri.ExecSyncRequest.newBuilder().setContainerId(id).addAllCmd(cmd).setTimeout(timeoutSeconds).build());
    }

    /** The image as CRI resolved it, or null when CRI does not have it. */
    public Cri.Image imageStatus(String image) {
        Cri.ImageStatusResponse r = call(IMAGE_STATUS, Cri.ImageStatusRequest.newBuilder()
                .setImage(Cri.ImageSpec.newBuilder().setImage(image)).build());
        return r.hasImage() ? r.getImage() : null;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }
}
