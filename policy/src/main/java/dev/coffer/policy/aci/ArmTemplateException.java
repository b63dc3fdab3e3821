package dev.coffer.policy.aci;

/** A template that cannot be read as acipolicygen reads it; the message names the place in the template. */
public final class ArmTemplateException extends IllegalArgumentException {
    public ArmTemplateException(String message) {
        super(message);
    }
}
