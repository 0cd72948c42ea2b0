import { graphql } from './graphql';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      name
      role
      tokenId
    }
  }
`);
