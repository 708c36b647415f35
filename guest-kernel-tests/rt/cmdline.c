/* SPDX-License-Identifier: MIT */
/* Kernel command line: whitespace-separated "key=value" or bare "key". */
#include "rt.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_get(const char *key, char *buf, size_t len)
{
	const char *p = rt_cmdline;
	size_t klen = strlen(key);

	while (*p) {
		const char *tok, *end;

		while (is_space(*p))
			p++;
		tok = p;
		while (*p && !is_space(*p))
			p++;
		end = p;
		if (tok == end)
			break;
		if ((size_t)(end - tok) >= klen && !strncmp(tok, key, klen) &&
		    (tok + klen == end || tok[klen] == '=')) {
			const char *v = tok + klen == end ? end : tok + klen + 1;
			size_t n = (size_t)(end - v);

			if (buf && len) {
				if (n > len - 1)
					n = len - 1;
				memcpy(buf, v, n);
				buf[n] = 0;
			}
			return true;
		}
	}
	return false;
}

bool parse_u64(const char *s, uint64_t *val)
{
	uint64_t v = 0;
	unsigned base = 10;
	bool any = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
		any = true;
	}
	if (!any)
		return false;
	if (*s) {
		unsigned shift;

		switch (*s) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		case 't':
		case 'T':
			shift = 40;
			break;
		default:
			return false;
		}
		if (s[1] && !((s[1] == 'i' || s[1] == 'B') &&
			      (!s[2] || (s[1] == 'i' && s[2] == 'B' && !s[3]))))
			return false;
		if (v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
	}
	*val = v;
	return true;
}

bool cmdline_get_u64(const char *key, uint64_t *val)
{
	char buf[32];

	if (!cmdline_get(key, buf, sizeof(buf)))
		return false;
	return parse_u64(buf, val);
}
