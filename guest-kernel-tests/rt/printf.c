/* SPDX-License-Identifier: MIT */
/* Minimal printf: %s %d %i %u %x %X %c %p %%, flags '-' '0', width,
 * length modifiers l, ll, z. */
#include "rt.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_field(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	/* zero padding goes after a sign */
	if (!left && pad == '0' && n > 0 && s[0] == '-') {
		put(o, '-');
		s++;
		n--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		char tmp[24];
		const char *s;
		size_t n;
		int width = 0, lng = 0;
		bool left = false;
		char pad = ' ';
		uint64_t u;
		int base = 10;
		bool upper = false, neg = false;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 0:
			fmt--;
			continue;
		case '%':
			put(&o, '%');
			continue;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_field(&o, tmp, 1, width, left, ' ');
			continue;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_field(&o, s, strlen(s), width, left, ' ');
			continue;
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0) {
				neg = true;
				u = -(uint64_t)v;
			} else {
				u = (uint64_t)v;
			}
			break;
		}
		case 'p':
			u = (uint64_t)(uintptr_t)va_arg(ap, void *);
			base = 16;
			put(&o, '0');
			put(&o, 'x');
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			break;
		default: /* unknown: print it verbatim */
			put(&o, '%');
			put(&o, *fmt);
			continue;
		}
		n = sizeof(tmp);
		do {
			unsigned d = (unsigned)(u % (unsigned)base);
			tmp[--n] = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
			u /= (unsigned)base;
		} while (u);
		if (neg)
			tmp[--n] = '-';
		put_field(&o, tmp + n, sizeof(tmp) - n, width, left, left ? ' ' : pad);
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

int vprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int r = vsnprintf(buf, sizeof(buf), fmt, ap);

	rt_puts(buf);
	if (r >= (int)sizeof(buf))
		rt_puts("...[truncated]\n");
	return r;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprintf(fmt, ap);
	va_end(ap);
	return r;
}
