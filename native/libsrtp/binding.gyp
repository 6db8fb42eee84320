# Node-API binding of the system libsrtp2 (Debian: apt-get install libsrtp2-dev).
# Built only on demand with `npm run build:libsrtp`; deliberately NOT at the repo root so that a
# plain `npm install` never tries to compile it.
{
  "targets": [
    {
      "target_name": "srtp_binding",
      "sources": ["src/addon.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lsrtp2"]
    }
  ]
}
