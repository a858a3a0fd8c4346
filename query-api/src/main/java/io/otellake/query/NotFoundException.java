package io.otellake.query;

/** The thing asked for does not exist for this tenant. */
class NotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotFoundException(String message) {
        super(message);
    }
}
