#ifndef CSLUICE_RUNTIME_H
#define CSLUICE_RUNTIME_H

/// The address of the Swift runtime's `swift_task_enqueueGlobal_hook` variable, resolved
/// by the linker: it works with the runtime as a shared library and linked statically
/// (--static-swift-stdlib hides the runtime's symbols from dlsym).
void **csluice_enqueue_global_hook_slot(void);

/// glibc's `malloc_trim(0)`: returns the heap's free pages to the system. 0 elsewhere.
int csluice_malloc_trim(void);

#endif
