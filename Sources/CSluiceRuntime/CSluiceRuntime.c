#include "CSluiceRuntime.h"

#include <stdlib.h>  // defines __GLIBC__ on glibc, before the check below
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int csluice_malloc_trim(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

extern void *swift_task_enqueueGlobal_hook;

void **csluice_enqueue_global_hook_slot(void) {
    return &swift_task_enqueueGlobal_hook;
}
