/* SPDX-License-Identifier: MIT */
/* The few libc functions the compiler may call even when freestanding. */
#include "rt.h"

/* rep movsb/stosb: the compiler cannot turn these back into calls to
 * themselves, and string instructions are cheap under the emulator. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	if ((uintptr_t)d - (uintptr_t)s >= n) /* no forward overlap */
		return memcpy(d, s, n);
	if (n) {
		unsigned char *p = (unsigned char *)d + n - 1;
		const unsigned char *q = (const unsigned char *)s + n - 1;

		__asm__ volatile("std; rep movsb; cld" : "+D"(p), "+S"(q), "+c"(n) : : "memory");
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}
