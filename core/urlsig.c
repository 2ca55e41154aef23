#include "core/urlsig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int urlsig_make(const char *key, const char *episode, long long exp, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char msg[96];
	int n = snprintf(msg, sizeof msg, "%s:%lld", episode, exp);

	if (key == NULL || !*key || n < 0 || (size_t)n >= sizeof msg || outlen < 33)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, (size_t)n, mac, &maclen) ==
		    NULL ||
	    maclen < 16)
		return -1;
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

int urlsig_check(const char *key, const char *episode, const char *exp, const char *sig, double now)
{
	char want[33], *end;
	if (key == NULL || episode == NULL || exp == NULL || sig == NULL || strlen(sig) != 32)
		return 0;
	long long e = strtoll(exp, &end, 10);
	if (end == exp || *end != '\0' || (double)e < now ||
	    urlsig_make(key, episode, e, want, sizeof want) != 0)
		return 0;
	unsigned char diff = 0;
	for (int i = 0; i < 32; i++)
		diff |= (unsigned char)(want[i] ^ sig[i]);
	return diff == 0;
}
