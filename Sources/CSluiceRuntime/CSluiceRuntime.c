#include "CSluiceRuntime.h"

extern void *swift_task_enqueueGlobal_hook;

void **csluice_enqueue_global_hook_slot(void) {
    return &swift_task_enqueueGlobal_hook;
}
