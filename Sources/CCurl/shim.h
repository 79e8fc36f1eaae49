#include <curl/curl.h>
#include <dlfcn.h>

/* libcurl is opened with dlopen on first use, not linked: a command on a local repository
 * then never maps libcurl and the two dozen libraries it pulls in (about 4 MiB resident).
 * The caller keeps the filled table for the life of the process. */
typedef size_t (*c_curl_data_cb)(char *, size_t, size_t, void *);

typedef struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} c_curl_api;

/* Fills *api from libcurl; returns NULL, or dlerror's message when it cannot. */
static inline const char *c_curl_load(c_curl_api *api) {
#ifdef __APPLE__
    void *lib = dlopen("libcurl.4.dylib", RTLD_NOW | RTLD_LOCAL);
#else
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
#endif
    if (!lib) return dlerror();
#define C_CURL_SYMBOL(field, name) if (!(*(void **)&api->field = dlsym(lib, name))) return dlerror();
    C_CURL_SYMBOL(global_init, "curl_global_init")
    C_CURL_SYMBOL(easy_init, "curl_easy_init")
    C_CURL_SYMBOL(easy_cleanup, "curl_easy_cleanup")
    C_CURL_SYMBOL(easy_reset, "curl_easy_reset")
    C_CURL_SYMBOL(easy_perform, "curl_easy_perform")
    C_CURL_SYMBOL(easy_strerror, "curl_easy_strerror")
    C_CURL_SYMBOL(easy_setopt, "curl_easy_setopt")
    C_CURL_SYMBOL(easy_getinfo, "curl_easy_getinfo")
    C_CURL_SYMBOL(slist_append, "curl_slist_append")
    C_CURL_SYMBOL(slist_free_all, "curl_slist_free_all")
#undef C_CURL_SYMBOL
    return NULL;
}

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call. */
static inline CURLcode c_curl_setopt_long(const c_curl_api *a, CURL *h, CURLoption o, long v) { return a->easy_setopt(h, o, v); }
static inline CURLcode c_curl_setopt_ptr(const c_curl_api *a, CURL *h, CURLoption o, void *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode c_curl_setopt_str(const c_curl_api *a, CURL *h, CURLoption o, const char *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode c_curl_setopt_data_cb(const c_curl_api *a, CURL *h, CURLoption o, c_curl_data_cb v) { return a->easy_setopt(h, o, v); }
static inline CURLcode c_curl_setopt_off(const c_curl_api *a, CURL *h, CURLoption o, curl_off_t v) { return a->easy_setopt(h, o, v); }
static inline CURLcode c_curl_getinfo_long(const c_curl_api *a, CURL *h, CURLINFO i, long *v) { return a->easy_getinfo(h, i, v); }
/* curl copies the bytes (CURL_BLOB_COPY), so the caller's buffer may go away after the call. */
static inline CURLcode c_curl_setopt_blob(const c_curl_api *a, CURL *h, CURLoption o, const void *data, size_t len) {
    struct curl_blob blob = { (void *)data, len, CURL_BLOB_COPY };
    return a->easy_setopt(h, o, &blob);
}
