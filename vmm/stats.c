// SPDX-License-Identifier: MIT
/* --stats: what a run did, as text for people or as one JSON object for CI. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "../arch/x86/xen/xen.h"
#include "log.h"
#include "vm.h"

/* VmHWM, without opening /proc/self/status (the main thread's seccomp filter allows no open) */
static uint64_t peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss : 0;
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_seconds(FILE *out, bool valid, uint64_t ns)
{
	if (valid)
		fprintf(out, "%.6f", (double)ns / 1e9);
	else
		fputs("null", out);
}

static void json_patterns(FILE *out, const char *name, const struct console_pattern *p, int n)
{
	fprintf(out, ",\"%s\":[", name);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s{\"pattern\":", i ? "," : "");
		json_string(out, p[i].text);
		fprintf(out, ",\"matched\":%s,\"time_s\":", p[i].matched ? "true" : "false");
		json_seconds(out, p[i].matched, p[i].matched_ns);
		fputc('}', out);
	}
	fputc(']', out);
}

static void stats_json(struct vm *vm, int status, FILE *out)
{
	struct console *con = &vm->console;
	uint64_t end = vm->stop_ns ? vm->stop_ns : vm_now_ns();

	fprintf(out, "{\"exit_status\":%d,\"stop_reason\":", status);
	json_string(out, vm->stop_reason);
	fprintf(out,
		",\"wall_s\":%.6f,\"first_console_byte_s\":", (double)(end - vm->start_ns) / 1e9);
	json_seconds(out, con->bytes > 0, con->first_byte_ns);
	fprintf(out, ",\"console_bytes\":%llu", (unsigned long long)con->bytes);
	json_patterns(out, "expect", con->expect, con->nr_expect);
	json_patterns(out, "fail_on", con->fail_on, con->nr_fail_on);
	fputs(",\"vcpus\":[", out);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		uint64_t total = 0;
		bool first = true;

		fprintf(out, "%s{\"id\":%u,\"exits\":{", i ? "," : "", i);
		for (unsigned int r = 0; r < VCPU_EXIT_REASONS; r++) {
			if (!v->exits[r])
				continue;
			fprintf(out, "%s\"%s\":%llu", first ? "" : ",", kvm_exit_reason_name(r),
				(unsigned long long)v->exits[r]);
			total += v->exits[r];
			first = false;
		}
		fprintf(out, "},\"total_exits\":%llu,\"map_gpa_requests\":%llu}",
			(unsigned long long)total, (unsigned long long)v->map_gpa_requests);
	}
	fputs("]", out);
	if (vm->xen) {
		fputs(",\"xen\":", out);
		xen_print_stats_json(vm->xen, out);
	}
	fprintf(out,
		",\"memory\":{\"backing\":\"%s\",\"size_bytes\":%llu,\"discarded_bytes\":%llu,"
		"\"conversions\":%llu,\"remaps\":%llu},\"pause_all\":%llu,\"peak_rss_kib\":%llu}\n",
		mem_backing_name(vm->cfg->backing), (unsigned long long)vm->cfg->memory,
		(unsigned long long)atomic_load(&vm->mem.discarded_bytes),
		(unsigned long long)atomic_load(&vm->mem.conversions),
		(unsigned long long)vm->remaps, (unsigned long long)vm->pauses,
		(unsigned long long)peak_rss_kib());
}

static void stats_text(struct vm *vm, int status, FILE *out)
{
	uint64_t end = vm->stop_ns ? vm->stop_ns : vm_now_ns();
	uint64_t total = 0;

	fprintf(out,
		"minivmm stats: exit status %d (%s), %.3f s wall, %llu console bytes, peak RSS %llu KiB\n",
		status, vm->stop_reason[0] ? vm->stop_reason : "not started",
		(double)(end - vm->start_ns) / 1e9, (unsigned long long)vm->console.bytes,
		(unsigned long long)peak_rss_kib());
	fprintf(out,
		"minivmm stats: memory %s, %llu bytes discarded, %llu conversions, %llu regions "
		"remapped, %llu pause-alls\n",
		mem_backing_name(vm->cfg->backing),
		(unsigned long long)atomic_load(&vm->mem.discarded_bytes),
		(unsigned long long)atomic_load(&vm->mem.conversions),
		(unsigned long long)vm->remaps, (unsigned long long)vm->pauses);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		char line[1024];
		size_t off = 0;

		line[0] = '\0';
		for (unsigned int r = 0; r < VCPU_EXIT_REASONS && off < sizeof(line); r++) {
			if (!v->exits[r])
				continue;
			total += v->exits[r];
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu",
						kvm_exit_reason_name(r),
						(unsigned long long)v->exits[r]);
		}
		fprintf(out, "minivmm stats: vcpu%u exits:%s%s\n", i, off ? line : " none",
			v->pio_exits_unhandled ? " (some port I/O unclaimed)" : "");
	}
	fprintf(out, "minivmm stats: total exits %llu\n", (unsigned long long)total);
	if (vm->xen)
		xen_print_stats(vm->xen, out);
}

int vm_open_stats(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	if (cfg->stats == STATS_NONE || !cfg->stats_file[0])
		return 0;
	vm->stats_out = fopen(cfg->stats_file, "we");
	if (!vm->stats_out) {
		fprintf(stderr, "minivmm: --stats-file %s: %s\n", cfg->stats_file, strerror(errno));
		return -1;
	}
	return 0;
}

void vm_print_stats(struct vm *vm, int status)
{
	const struct vm_config *cfg = vm->cfg;
	FILE *out = vm->stats_out ? vm->stats_out : stderr;

	if (cfg->stats == STATS_NONE)
		return;
	if (cfg->stats == STATS_JSON)
		stats_json(vm, status, out);
	else
		stats_text(vm, status, out);
	if (out != stderr) {
		fclose(out);
		vm->stats_out = NULL;
	} else {
		fflush(out);
	}
}
