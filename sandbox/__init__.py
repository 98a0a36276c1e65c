"""The firejail sandbox: policy, command line, runner, child entry, probe and doctor."""
