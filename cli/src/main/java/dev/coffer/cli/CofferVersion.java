package dev.coffer.cli;

import picocli.CommandLine.IVersionProvider;

final class CofferVersion implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = CofferVersion.class.getPackage().getImplementationVersion();
        return new String[] {"coffer " + (v == null ? "0.1.0-SNAPSHOT" : v),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")"};
    }
}
