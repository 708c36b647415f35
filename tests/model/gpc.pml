/*
 * gpc.pml -- Promela model of minivmm's guest-physical cache (gpc) protocol
 * (vmm/gpc.c, vmm/guest_mem.c; protocol text in vmm/gpc.h).   Run: bash tests/model/run.sh
 *
 * WHAT IS MODELLED
 *   Two guest pages (gpa 0 and gpa 1; page 1 is in the removable region) and ONE cache used
 *   by every user, like Xen shared_info (seed 000: several vCPUs read one cache).
 *     vcpu(0), vcpu(1)  vCPU threads, NITER hypercalls each, using the cache through
 *                       gpc_begin()/gpc_end().  vcpu(0) holds the Xen lock around it (an
 *                       event-channel op), vcpu(1) does not (vcpu_info/time).  The guest may
 *                       move the registered gpa to the other page MAXMOVES times; a hypercall
 *                       uses the gpa it read when it started.
 *     vcpu(2, 0)        (-DIOTHREAD) a non-vCPU user (device/I/O thread), never paused.
 *     invalidator       NINV discards/conversions of either page from a non-vCPU thread.
 *     layout            pause all vCPUs, remove page 1's region, resume; pause, re-add, resume.
 *     monitor           checks P2 in every state.
 *   Page states: present; discarded (punched: contents gone, a later translation faults in a
 *   fresh page); revoked (private: PROT_NONE in the access view, translation refused); hole
 *   (region removed, view unmapped).  pinc[p] is a ghost incarnation bumped by every
 *   destructive step on p; a cache records the incarnation its translation saw (c_pinc), so
 *   any use of a pointer whose page was discarded/revoked/unmapped since is detectable.
 *   A pointer is modelled as the page index it points into (translate() is gpa -> view).
 *
 * C MAPPING
 *   proctype vcpu                  a hypercall (or device op) using the cache
 *     lock(vcpu_lock[u])            leaving KVM_RUN; the pause point (VM config -> vCPU)
 *     lock(xen)                     xen->lock, outermost lock a hypercall takes
 *     "check:" block                gpc_begin(): read_lock(&gpc->lock); gpc_check()
 *     acc[u] = c_ptr .. acc = NONE  the caller's access to *ptr; gpc_end(): rwlock_unlock()
 *     inline gpc_refresh            gpc_refresh():
 *       lock(refresh_m)               mutex_lock(&gpc->refresh_lock)
 *       registry + wlock_gpc block    gpc_retarget(): registry_lock, write_lock(&gpc->lock),
 *                                     valid = false, ptr = NULL, gpa = new (relink bucket)
 *                                     [+ the FIX below: return early if already fresh]
 *       in_progress busy-wait         while (atomic_load(&mem->invalidate_in_progress)) sched_yield()
 *       seq_l = inv_seq               seq = atomic_load(&mem->invalidate_seq)
 *       rlock_layout block            read_lock(layout_lock); guest_mem_translate_locked();
 *                                     generation; unlock.  Fails for holes and private pages.
 *       wlock_gpc; ip_l; RETRY_COND   write_lock(&gpc->lock); in_progress || seq moved ->
 *                                     unlock, translate again; else ptr, generation, valid
 *   proctype invalidator           guest_mem_discard() / guest_mem_convert()
 *     rlock_layout block            find_page_range() under layout_lock (read)
 *     inline invalidate_begin       guest_mem_invalidate_begin(): in_progress++; registry_lock;
 *       inline invalidate_marks       gpc_registry_invalidate() -> invalidate_one(): every
 *                                     overlapping cache, valid or not: valid = false, ptr = NULL
 *     wlock_layout; destroy(p)      write_lock(layout_lock); region_punch() (+ mprotect and
 *                                   set_private_bits() for a conversion)
 *     inv_seq++; in_progress--      guest_mem_invalidate_end()
 *   proctype layout                VM layer: pause-all, guest_mem_remove_region(), resume;
 *                                  pause-all, guest_mem_add_ram(), resume
 *     pause_all()                   hold every vcpu_lock: no vCPU is inside an exit handler
 *     remove                        invalidate_begin; write_lock(layout): drop region,
 *                                   generation++; unlock; region_release() = munmap the
 *                                   view (destroy); invalidate_end
 *     re-add                        write_lock(layout): add region, generation++
 *   Locks are blocking guards (mutex = bit, rwlock = reader count + writer bit; gpc->lock
 *   also has a pending-writer bit that holds new readers off), so a deadlock
 *   is an invalid end state.  Order (vmm/lock.h): VM config -> vCPU -> Xen -> cache refresh
 *   -> memory layout -> registry -> cache rwlock.
 *
 *   Atomicity: each atomic block is one Lipton-reducible step: lock acquisitions (right
 *   movers), at most one access to a variable that is not protected by a lock held
 *   (in_progress, inv_seq, generation in gpc_check(), want, a pause handshake), then
 *   releases (left movers); data protected by a held lock commutes.  So every interleaving
 *   of the C statements is represented; C code between two such steps is not split further.
 *
 * PROPERTIES (assertions; pan's end-state check; the progress run)
 *   P1  an access through the cache lands on the page the caller asked for, on the
 *       incarnation its translation saw, mapped and not private; and no destructive step
 *       runs on a page while an access to it is in flight (seed 000's CPU0/CPU1 race).
 *   P2  (monitor, every state; and at every destructive step) a valid cache points at its
 *       own gpa's page, which is mapped, not private, not discarded since translation.
 *   P2b when the destructive step on p starts, no cache registered on p still holds a
 *       pointer into p, valid or not (guest_mem_invalidate_begin()'s postcondition; seed 001).
 *   P2c ... nor does any other cache: gpc->ptr is never left dangling (DESIGN rule 3).
 *   P3  no deadlock: no invalid end state; every process runs to completion.
 *   P4  progress (-DNP, pan -l -f, run with MAXMOVES=0): with finitely many invalidations,
 *       there is no fair infinite run without progress -- every busy-wait and retry loop ends,
 *       every refresh completes and every gpc_begin() returns.
 *
 * A FIX THIS MODEL FOUND (now in gpc.c's gpc_retarget()):
 *   gpc_refresh() returns early when, under refresh_lock, the cache is already valid for
 *   (gpa, generation): otherwise two users refreshing the same cache invalidate each
 *   other's fresh translation forever.  -DREFRESH_ALWAYS_RETARGETS restores the old
 *   behaviour (progress counterexample).
 *
 * SWITCHES: mutants (each must give a counterexample)
 *   MUTANT_SPECULATIVE_VALID  gpc_retarget() marks the cache valid before the translation
 *                             (old KVM code of seed 000); publish retries only if !valid.
 *   MUTANT_IGNORE_IN_PROGRESS refresh neither waits for nor checks invalidate_in_progress,
 *                             only the sequence.
 *   MUTANT_NO_PUBLISH_RECHECK refresh waits for in_progress == 0 but the publish step checks
 *                             only the sequence (the wait alone is not enough).
 *   MUTANT_NO_WAIT            no busy-wait; the publish step still checks both.  Safe
 *                             (verifies), but not live: the retry loop keeps re-taking
 *                             gpc->lock and layout_lock and can starve the invalidation.
 *   MUTANT_SKIP_INVALID       invalidation skips caches already invalid (seed 001).  On its
 *                             own it is unobservable, because gpc_retarget() clears ptr; run
 *                             it with MUTANT_KEEP_PTR and NO_P2C.
 *   MUTANT_KEEP_PTR           gpc_retarget() keeps the old ptr in the (invalid) cache.
 *   MUTANT_XEN_LOCK_ORDER     vcpu(1) takes the Xen lock while holding gpc->lock (read)
 *                             while vcpu(0) holds Xen around gpc_begin() -> deadlock.
 *   MUTANT_COUNT_BEFORE_PAUSE the layout change raises in_progress before pausing vCPUs; a
 *                             vCPU spinning in gpc_refresh() never reaches its pause point.
 *   other: NITER, NINV, MAXMOVES, NITER_IO (bounds), IOTHREAD, NO_P2C (check P2b only),
 *   GPC_PLAIN_RWLOCK (gpc->lock without the writer preference, as before the slot lock),
 *   LAYOUT_LOCK_FIRST (layout change takes layout_lock before in_progress++, as the
 *   protocol brief words it, instead of after the marking as guest_mem_remove_region() does).
 */

#define NPAGES   2
#define NONE     255
#define NVCPU    2
#ifndef NITER
#define NITER    2      /* hypercalls per vCPU */
#endif
#ifndef NITER_IO
#define NITER_IO 1      /* uses by the I/O thread (-DIOTHREAD) */
#endif
#ifndef NINV
#define NINV     2      /* discards/conversions */
#endif
#ifndef MAXMOVES
#define MAXMOVES 1      /* re-registrations of the cache to the other gpa */
#endif

#define K_DISCARD    0
#define K_TO_PRIVATE 1
#define K_TO_SHARED  2

/* ---- guest memory (struct guest_mem) ---- */
bit  mapped[NPAGES];          /* region table: page is RAM (layout_lock) */
bit  priv[NPAGES];            /* private_bits (layout_lock) */
byte pinc[NPAGES];            /* ghost: incarnation of the page's contents/mapping */
byte generation;              /* mem->generation (written under layout_lock W) */
byte in_progress;             /* mem->invalidate_in_progress (atomic) */
byte inv_seq;                 /* mem->invalidate_seq (atomic) */
byte layout_r; bit layout_w;  /* mem->layout_lock */
bit  registry;                /* mem->registry_lock */

/* ---- the cache (struct gpc) ---- */
byte gpc_r; bit gpc_w;        /* gpc->lock */
bit  gpc_wp;                  /* a writer marked the slots, waits for readers to leave */
bit  refresh_m;               /* gpc->refresh_lock */
bit  c_valid;
byte c_gpa;                   /* registry bucket / gpc->gpa */
byte c_ptr;                   /* page gpc->ptr points into; NONE = NULL */
byte c_pinc;                  /* ghost: incarnation c_ptr was translated at */
byte c_gen;                   /* gpc->generation */

/* ---- Xen, vCPUs ---- */
bit  xen;                     /* xen->lock */
byte want;                    /* gpa the guest registered for the cache */
byte moves;
bit  vcpu_lock[NVCPU];        /* held by a vCPU while it handles an exit; pause-all holds
                                 every one of them until resume (VM config -> vCPU) */
byte acc[NVCPU + 1];          /* ghost: page a user is accessing right now, NONE if none */

inline lock(m)          { m == 0 -> m = 1 }
inline unlock(m)        { assert(m == 1); m = 0 }
inline rlock_layout()   { layout_w == 0 -> layout_r++ }
inline runlock_layout() { assert(layout_r > 0); layout_r-- }
inline wlock_layout()   { layout_w == 0 && layout_r == 0 -> layout_w = 1 }
inline wunlock_layout() { assert(layout_w == 1); layout_w = 0 }
/*
 * gpc->lock prefers writers (gpc.c): a writer first marks the lock, which turns new readers
 * away, then waits for the readers inside. GPC_PLAIN_RWLOCK: no preference, as before.
 */
#ifdef GPC_PLAIN_RWLOCK
inline rlock_gpc()      { gpc_w == 0 -> gpc_r++ }
inline wlock_gpc()      { gpc_w == 0 && gpc_r == 0 -> gpc_w = 1 }
#else
inline rlock_gpc()      { gpc_w == 0 && gpc_wp == 0 -> gpc_r++ }
inline wlock_gpc()      { gpc_w == 0 && gpc_wp == 0 -> gpc_wp = 1; gpc_r == 0 -> gpc_wp = 0; gpc_w = 1 }
#endif
inline runlock_gpc()    { assert(gpc_r > 0); gpc_r-- }
inline wunlock_gpc()    { assert(gpc_w == 1); gpc_w = 0 }

/* gpc_check(): caller holds gpc->lock for reading */
#define CHECK(g)   (c_valid && c_gpa == (g) && c_gen == generation)

#define LIVE(p, i) ((p) != NONE && mapped[p] && !priv[p] && pinc[p] == (i))
#define INV_P2     (!c_valid || (c_ptr == c_gpa && LIVE(c_ptr, c_pinc)))

#ifdef MUTANT_SPECULATIVE_VALID
#define RETARGET_VALID 1
#define RETRY_COND (!c_valid || ip_l > 0 || inv_seq != seq_l)
#elif defined(MUTANT_IGNORE_IN_PROGRESS) || defined(MUTANT_NO_PUBLISH_RECHECK)
#define RETARGET_VALID 0
#define RETRY_COND (inv_seq != seq_l)
#else
#define RETARGET_VALID 0
#define RETRY_COND (ip_l > 0 || inv_seq != seq_l)
#endif

/*
 * gpc_refresh(gpc, g); `err` set on a failed translation.  Each atomic block is one
 * Lipton-reducible step (see README): lock acquisitions, then at most one access to an
 * unprotected shared variable (in_progress, inv_seq, generation outside layout_lock),
 * then releases.
 */
inline gpc_refresh(g, err)
{
	atomic {
		lock(refresh_m);
		lock(registry);                   /* gpc_retarget() */
		wlock_gpc();
#ifndef REFRESH_ALWAYS_RETARGETS
		if                                /* FIX: another refresher already did it */
		:: CHECK(g) -> fresh = 1
		:: else
		fi;
#endif
		if
		:: !fresh ->
			c_valid = RETARGET_VALID;
#ifndef MUTANT_KEEP_PTR
			c_ptr = NONE; c_pinc = 0;
#endif
			c_gpa = g
		:: else
		fi;
		wunlock_gpc();
		unlock(registry);
		if
		:: fresh -> unlock(refresh_m)
		:: else
		fi
	}
	do
	:: fresh -> break
	:: !fresh ->
#if !defined(MUTANT_IGNORE_IN_PROGRESS) && !defined(MUTANT_NO_WAIT)
		do                                /* while (in_progress) sched_yield(); */
		:: in_progress > 0 -> skip
		:: in_progress == 0 -> break
		od;
#endif
		seq_l = inv_seq;
		atomic {
			rlock_layout();
			if                        /* guest_mem_translate_locked() */
			:: mapped[g] && !priv[g] -> ok = 1; ti = pinc[g]
			:: else -> ok = 0         /* hole: -EFAULT; private: -EPERM */
			fi;
			gen_l = generation;
			runlock_layout();
			if
			:: !ok ->
#ifdef MUTANT_SPECULATIVE_VALID
				wlock_gpc(); c_valid = 0; wunlock_gpc();   /* old KVM error path */
#endif
				unlock(refresh_m);
				err = 1
			:: else
			fi
		}
		if
		:: err -> break
		:: else
		fi;
		atomic {
			wlock_gpc();
#ifndef MUTANT_IGNORE_IN_PROGRESS
			ip_l = in_progress
#endif
		}
		atomic {
			if
			:: RETRY_COND -> wunlock_gpc()    /* translate again */
			:: else ->
				c_ptr = g; c_pinc = ti; c_gen = gen_l; c_valid = 1;
				wunlock_gpc();
				unlock(refresh_m);
				break
			fi
		}
	od;
	seq_l = 0; ti = 0; gen_l = 0; ok = 0; ip_l = 0; fresh = 0
}

/* gpc_registry_invalidate() for page p: every cache over p, valid or not (registry held) */
inline invalidate_marks(p)
{
	if
	:: c_gpa == p ->
		wlock_gpc();                      /* invalidate_one() */
#ifdef MUTANT_SKIP_INVALID
		if
		:: c_valid -> c_valid = 0; c_ptr = NONE; c_pinc = 0
		:: else
		fi;
#else
		c_valid = 0; c_ptr = NONE; c_pinc = 0;
#endif
		wunlock_gpc()
	:: else
	fi
}

/* guest_mem_invalidate_begin() */
inline invalidate_begin(p)
{
	in_progress++;
	atomic { lock(registry); invalidate_marks(p); unlock(registry) }
}

/*
 * The destructive step on page p (punch / revoke / unmap).  P1: no access to p in flight;
 * P2b/P2c: no cache still holds a pointer into p.  Then p's incarnation ends.
 */
inline destroy(p)
{
	assert(acc[0] != p && acc[1] != p && acc[2] != p);      /* P1 */
	assert(!(c_valid && c_ptr == p));                       /* P2 */
	assert(!(!c_valid && c_ptr == p && c_gpa == p));        /* P2b */
#ifndef NO_P2C
	assert(!(!c_valid && c_ptr == p && c_gpa != p));        /* P2c */
#endif
	pinc[p]++
}

proctype vcpu(byte u; bit isvcpu)
{
	byte it, g;
	bit use_xen, err, hit;
	byte seq_l, ti, gen_l, ip_l; bit ok, fresh; /* gpc_refresh() locals */
	do
	:: it < (isvcpu -> NITER : NITER_IO) ->
		atomic {
			if
			:: isvcpu -> lock(vcpu_lock[u])  /* exit to the VMM; pause point */
			:: else                     /* I/O thread: not paused */
			fi;
			if
			:: u == 0 -> lock(xen); use_xen = 1  /* evtchn op: Xen lock outermost */
			:: else                     /* e.g. vcpu_info/time: no Xen lock */
			fi;
			if                          /* the guest may re-register the cache */
			:: moves < MAXMOVES -> moves++; want = 1 - want
			:: true
			fi;
			g = want
		}
		/* gpc_begin() */
check:		atomic {
			rlock_gpc();
			if
			:: CHECK(g) ->
				assert(c_ptr == g);                     /* P1 */
				assert(LIVE(c_ptr, c_pinc));            /* P1 */
				acc[u] = c_ptr;  hit = 1               /* access *ptr begins */
			:: else ->
				runlock_gpc(); hit = 0
			fi
		}
		if
		:: !hit ->
			gpc_refresh(g, err);
			if
			:: err -> goto done         /* gpc_begin() returns NULL */
			:: else -> goto check
			fi
		:: else
		fi;
#ifdef MUTANT_XEN_LOCK_ORDER
		if                                  /* Xen lock taken under gpc->lock: wrong */
		:: u == 1 -> atomic { lock(xen); unlock(xen) }
		:: else
		fi;
#endif
		atomic { acc[u] = NONE; runlock_gpc() } /* access ends; gpc_end() */
done:		atomic {
			if
			:: use_xen -> unlock(xen)
			:: else
			fi;
			if
			:: isvcpu -> unlock(vcpu_lock[u])  /* back to KVM_RUN */
			:: else
			fi;
			use_xen = 0; g = 0; err = 0; hit = 0; it++
		}
progress_vcpu:	skip
	:: else -> break
	od
}

proctype invalidator()
{
	byte k, p, kind;
	bit ok;
	do
	:: k < NINV ->
		atomic {
			if
			:: p = 0
			:: p = 1
			fi;
			rlock_layout();             /* find_page_range() */
			ok = mapped[p];
			if
			:: priv[p] -> kind = K_TO_SHARED
			:: else ->
				if
				:: kind = K_DISCARD
				:: kind = K_TO_PRIVATE
				fi
			fi;
			runlock_layout()
		}
		if
		:: ok ->
			invalidate_begin(p);
			atomic {
				wlock_layout();
				if
				:: mapped[p] ->     /* region_punch (+ mprotect, private bits) */
					destroy(p);
					if
					:: kind == K_TO_PRIVATE -> priv[p] = 1
					:: kind == K_TO_SHARED -> priv[p] = 0
					:: else
					fi
				:: else             /* region went away meanwhile: -EFAULT */
				fi;
				wunlock_layout()
			}
			inv_seq++;                  /* guest_mem_invalidate_end() */
			atomic { in_progress--; p = 0; kind = 0; ok = 0; k++ }
		:: else -> atomic { p = 0; kind = 0; ok = 0; k++ }
		fi;
progress_inv:	skip
	:: else -> break
	od
}

/* VM pause-all (under the VM config lock): wait until no vCPU is handling an exit and keep
 * them in KVM_RUN until resume_all() */
inline pause_all()   { lock(vcpu_lock[0]); lock(vcpu_lock[1]) }
inline resume_all()  { unlock(vcpu_lock[0]); unlock(vcpu_lock[1]) }

proctype layout()
{
	/* guest_mem_remove_region(page 1); the VM layer pauses the vCPUs first */
#if defined(LAYOUT_LOCK_FIRST)
	atomic { pause_all(); wlock_layout(); in_progress++ }
	atomic { lock(registry); invalidate_marks(1); unlock(registry) }
	atomic { mapped[1] = 0; generation++ }
	atomic { destroy(1) }                      /* unmap under layout_lock */
	inv_seq++;
	atomic { in_progress--; wunlock_layout(); resume_all() }
#else
#ifdef MUTANT_COUNT_BEFORE_PAUSE
	in_progress++;
	atomic { lock(registry); invalidate_marks(1); unlock(registry) }
	atomic { pause_all() }
#else
	atomic { pause_all(); in_progress++ }      /* guest_mem_invalidate_begin() */
	atomic { lock(registry); invalidate_marks(1); unlock(registry) }
#endif
	atomic { wlock_layout(); mapped[1] = 0; generation++; wunlock_layout() }
	atomic { destroy(1) }                      /* region_release(): munmap the view */
	inv_seq++;                                 /* guest_mem_invalidate_end() */
	atomic { in_progress--; resume_all() }
#endif
progress_layout1:
	/* guest_mem_add_ram(page 1): a new backing, a new generation */
	atomic {
		pause_all();
		wlock_layout(); mapped[1] = 1; priv[1] = 0; generation++; wunlock_layout();
		resume_all()
	}
progress_layout2:
	skip
}

/* P2, checked in every state */
active proctype monitor()
{
end:	atomic { !INV_P2 -> assert(INV_P2) }                    /* P2 */
}

init
{
	atomic {
		mapped[0] = 1; mapped[1] = 1;
		/* the cache was activated on gpa 0 before the vCPUs ran: valid */
		c_gpa = 0; c_ptr = 0; c_pinc = 0; c_gen = 0; c_valid = 1;
		acc[0] = NONE; acc[1] = NONE; acc[2] = NONE;
		run vcpu(0, 1);
		run vcpu(1, 1);
#ifdef IOTHREAD
		run vcpu(2, 0);
#endif
		run invalidator();
		run layout()
	}
}
