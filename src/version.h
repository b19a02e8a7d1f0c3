/*
 * version.h - SmartVault's own version. Bumped by hand on release; the image label takes it from here.
 */
#ifndef SV_VERSION_H
#define SV_VERSION_H

#define SMARTVAULT_VERSION "0.1.0"
/* BearSSL has no version macro; this must match vendor/manifest (checked by tests/integration/test_build.py). */
#define SMARTVAULT_BEARSSL_VERSION "0.6"

#endif
