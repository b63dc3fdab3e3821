package dev.coffer.policy.k8s;

import java.util.List;

/** The kinds that carry a pod, and where their pod template is (metadata and spec). */
public enum WorkloadKind {
    POD("Pod", List.of()),
    DEPLOYMENT("Deployment", List.of("spec", "template")),
    REPLICA_SET("ReplicaSet", List.of("spec", "template")),
    STATEFUL_SET("StatefulSet", List.of("spec", "template")),
    DAEMON_SET("DaemonSet", List.of("spec", "template")),
    JOB("Job", List.of("spec", "template")),
    CRON_JOB("CronJob", List.of("spec", "jobTemplate", "spec", "template"));

    private final String kind;
    private final List<String> templatePath;

    WorkloadKind(String kind, List<String> templatePath) {
        this.kind = kind;
        this.templatePath = templatePath;
    }

    /** The {@code kind} field's value. */
    public String kind() {
        return kind;
    }

    /** The fields from the object to its pod template (empty: the object is the pod). */
    public List<String> templatePath() {
        return templatePath;
    }

    /** The workload kind named {@code kind}, or null for kinds without a pod. */
    public static WorkloadKind of(String kind) {
        for (WorkloadKind k : values()) {
            if (k.kind.equals(kind)) return k;
        }
        return null;
    }
}
