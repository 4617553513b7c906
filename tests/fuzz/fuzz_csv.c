/* fuzz_csv.c: libFuzzer entry point for the CSV/TSV reader (the body is
 * fuzz_csv in targets.h, which the regression test replays). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_csv(data, size) != 0)
		abort(); /* an invariant broke: libFuzzer saves the input */
	return 0;
}
