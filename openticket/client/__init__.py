"""RemoteApi: the Api over HTTP, for `--server`."""
