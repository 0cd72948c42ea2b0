import { graphql } from './graphql';

/**
 * The fields of every error result (`__typename` tells which error it is), and the field errors
 * when it is a `ValidationError`.
 */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error @_unmask {
    __typename
    code
    message
    ... on ValidationError {
      fields {
        path
        message
      }
    }
  }
`);
