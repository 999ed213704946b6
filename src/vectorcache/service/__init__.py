"""The services the routes, the CLI and the benchmarks call: cache, gateway, auth, admin,
entries, feedback, end-user data and the write-behind events. Built by ``runtime.Runtime``."""
