package io.otellake.query;

/** A request the API cannot answer as asked; the message tells the client what to change. */
class BadRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadRequestException(String message) {
        super(message);
    }
}
