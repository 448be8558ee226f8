/* libFuzzer target: the JSON collector on arbitrary bytes (invariants in fuzz_collector.h). */
#include "fuzz_collector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_collector_drain(scli_collector_json_new, "fuzz.json", data, size);
	return 0;
}
