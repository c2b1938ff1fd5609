/*
 * secrets.c — the node's secrets come from files only its user can read: the
 * node key (--key) and the dashboard token (--admin-token-file, so the token
 * is not on the command line, where every local user can see it in ps).
 *
 * A file that its group or anyone else may read is refused with a message
 * that says how to fix it, rather than used: a key that leaked once cannot be
 * taken back (a node key is rotated by a node.remove / node.add).
 */
#include "node/node.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int node_secret_fd_check(int fd, const char *what, const char *path, char *errmsg,
                         size_t errmsg_len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        snprintf(errmsg, errmsg_len, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(errmsg, errmsg_len, "%s %s: not a regular file", what, path);
        return -1;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(errmsg, errmsg_len,
                 "%s %s: readable or writable by group or others (mode %03o); "
                 "run: chmod 600 %s",
                 what, path, (unsigned)(sb.st_mode & 0777), path);
        return -1;
    }
    return 0;
}

int node_token_file_read(char *out, size_t out_len, const char *path, char *errmsg,
                         size_t errmsg_len)
{
    char buf[NODE_TOKEN_MAX + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "--admin-token-file %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = node_secret_fd_check(fd, "--admin-token-file", path, errmsg, errmsg_len);
    ssize_t n = rc == 0 ? read(fd, buf, sizeof buf) : 0;
    close(fd);
    if (rc != 0)
        return -1;
    if (n < 0) {
        snprintf(errmsg, errmsg_len, "--admin-token-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = (size_t)n;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    bool printable = len > 0;
    for (size_t i = 0; i < len; i++)
        printable &= buf[i] > ' ' && buf[i] < 0x7f;
    if (len > NODE_TOKEN_MAX || len + 1 > out_len || !printable) {
        snprintf(errmsg, errmsg_len,
                 "--admin-token-file %s: want one line of 1..%d printable characters, no spaces",
                 path, NODE_TOKEN_MAX);
        explicit_bzero(buf, sizeof buf);
        return -1;
    }
    memcpy(out, buf, len);
    out[len] = '\0';
    explicit_bzero(buf, sizeof buf);
    return 0;
}

int node_pem_file_read(char **out, const char *what, const char *path, bool secret, char *errmsg,
                       size_t errmsg_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    int rc = secret ? node_secret_fd_check(fd, what, path, errmsg, errmsg_len) : 0;
    if (rc == 0 && (buf = malloc(NODE_PEM_MAX + 2)) == NULL) {
        snprintf(errmsg, errmsg_len, "%s %s: out of memory", what, path);
        rc = -1;
    }
    while (rc == 0 && len < NODE_PEM_MAX + 1) {
        ssize_t n = read(fd, buf + len, NODE_PEM_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(errmsg, errmsg_len, "%s %s: %s", what, path, strerror(errno));
            rc = -1;
        }
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0 && (len == 0 || len > NODE_PEM_MAX || memchr(buf, '\0', len) != NULL ||
                    strstr((buf[len] = '\0', buf), "-----BEGIN ") == NULL)) {
        snprintf(errmsg, errmsg_len, "%s %s: want a PEM file of 1..%u bytes", what, path,
                 NODE_PEM_MAX);
        rc = -1;
    }
    if (rc != 0) {
        if (buf)
            explicit_bzero(buf, NODE_PEM_MAX + 2);
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}
