// libFuzzer's driver entry (compiler-rt FuzzerInterface.h). SwiftPM links executables with their
// `main` renamed (`<module>_main`), so each fuzz target defines that function and calls this.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
