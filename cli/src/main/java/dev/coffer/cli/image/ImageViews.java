package dev.coffer.cli.image;

import dev.coffer.cli.Progress;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.oci.store.ProgressListener;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** How images are shown: JSON shapes for {@code -o json} and a progress adapter. */
final class ImageViews {
    private ImageViews() {}

    static Map<String, Object> summary(LocalImage img) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("reference", img.reference().toString());
        m.put("id", img.id());
        m.put("manifestDigest", img.manifestDigest().toString());
        m.put("layers", img.layers().size());
        m.put("size", img.size());
        m.put("created", img.created().toString());
        return m;
    }

    static Map<String, Object> detail(LocalImage img) {
        Map<String, Object> m = summary(img);
        m.put("configDigest", img.configDigest().toString());
        List<Map<String, Object>> layers = new ArrayList<>();
        for (LayerBlob l : img.layers()) {
            Map<String, Object> lm = new LinkedHashMap<>();
            lm.put("digest", l.digest().toString());
            lm.put("diffId", l.diffId().toString());
            lm.put("mediaType", l.mediaType());
            lm.put("size", l.size());
            layers.add(lm);
        }
        m.put("layers", layers);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("os", img.config().os());
        c.put("architecture", img.config().architecture());
        c.put("entrypoint", img.config().entrypoint());
        c.put("cmd", img.config().cmd());
        c.put("env", img.config().env());
        c.put("workingDir", img.config().workingDir());
        c.put("user", img.config().user());
        c.put("exposedPorts", img.config().exposedPorts());
        c.put("labels", img.config().labels());
        m.put("config", c);
        return m;
    }

    /** Draws a progress bar (on a terminal only) once the total is known. */
    static final class Bar implements ProgressListener, AutoCloseable {
        private Progress progress;

        @Override
        public void update(String phase, long done, long total) {
            if (progress == null) {
                progress = new Progress(phase, total);
            }
            progress.update(done);
        }

        @Override
        public void close() {
            if (progress != null) progress.close();
        }
    }
}
