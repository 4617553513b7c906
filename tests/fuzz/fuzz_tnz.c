/* fuzz_tnz.c: libFuzzer entry point for the TNZ streaming reader and ck_tnz_load (the body is
 * fuzz_tnz in targets.h, which the regression test replays). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_tnz(data, size) != 0)
		abort(); /* an invariant broke: libFuzzer saves the input */
	return 0;
}
