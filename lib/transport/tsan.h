/*
 * ThreadSanitizer annotations for handoffs through gRPC. gRPC comes uninstrumented, so TSan does
 * not see that a tag given to grpc_call_start_batch() on one thread and returned by
 * grpc_completion_queue_next() on another is a synchronisation: these say so. They compile to
 * nothing in other builds.
 */
#ifndef ETCDC_TSAN_H
#define ETCDC_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define ETCD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ETCD_TSAN 1
#endif
#endif

#ifdef ETCD_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define ETCD_HANDOFF_RELEASE(p) __tsan_release(p)
#define ETCD_HANDOFF_ACQUIRE(p) __tsan_acquire(p)
#else
#define ETCD_HANDOFF_RELEASE(p) ((void)(p))
#define ETCD_HANDOFF_ACQUIRE(p) ((void)(p))
#endif

#endif
