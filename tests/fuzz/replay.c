/*
 * replay.c - runs a libFuzzer target's LLVMFuzzerTestOneInput over files, without libFuzzer.
 *
 *   replay DIR_OR_FILE...
 *
 * Linked with one target and the sources it names, in an ordinary sanitizer build (tests/fuzz/fuzz.sh replay),
 * so every corpus is replayed in every test run. Each input is copied into a buffer of exactly its size, as
 * libFuzzer does, so a read past the end is caught by ASan. Files in a directory are run in name order; names
 * starting with '.' are skipped. The last line is "replayed N files".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small; anything bigger is a mistake in the corpus, not an input. */
#define REPLAY_MAX_FILE_BYTES ((size_t) 64 * 1024 * 1024)

static size_t s_replayed;

static int s_run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    unsigned char *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            if (cap >= REPLAY_MAX_FILE_BYTES) {
                fprintf(stderr, "replay: %s is larger than %zu bytes\n", path, REPLAY_MAX_FILE_BYTES);
                free(data);
                fclose(f);
                return -1;
            }
            unsigned char *more = realloc(data, cap * 2);
            if (more == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = more;
            cap *= 2;
        }
    }
    int read_error = ferror(f);
    fclose(f);
    if (data == NULL || read_error) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        return -1;
    }
    unsigned char *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    s_replayed++;
    return 0;
}

static int s_by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int s_run_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **more = realloc(names, cap * sizeof(*names));
            if (more == NULL) {
                break;
            }
            names = more;
        }
        names[n] = strdup(ent->d_name);
        if (names[n]) {
            n++;
        }
    }
    closedir(d);
    if (n) {
        qsort(names, n, sizeof(*names), s_by_name);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + 1 + strlen(names[i]) + 1;
        char *path = malloc(len);
        if (path) {
            snprintf(path, len, "%s/%s", dir, names[i]);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && s_run_file(path) != 0) {
                rc = -1;
            }
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= s_run_dir(argv[i]) != 0;
        } else {
            rc |= s_run_file(argv[i]) != 0;
        }
    }
    printf("replayed %zu files\n", s_replayed);
    return rc;
}
