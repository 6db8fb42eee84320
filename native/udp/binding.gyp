# Node-API addon for batched UDP I/O on Linux (sendmmsg/recvmmsg, UDP GSO), used by src/net/batch-udp.ts.
# Built from source at install (package.json "install": node-gyp-build); a failed build is not an install
# failure: src/net/batch-udp.ts then falls back to node:dgram. Elsewhere than Linux nothing is compiled.
{
  "targets": [
    {
      "target_name": "batch_udp",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["src/addon.c", "src/batch_io.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
        }]
      ]
    }
  ]
}
